/**
 * A small HTTPS client for the control plane's own plumbing (readiness probes, TokenRequest):
 * client-certificate authentication against the local CA, JSON in and out. Everything the product
 * does goes through the KubeClient adapter instead.
 */
import { request } from 'node:https';

export interface TlsIdentity {
  caPem: string;
  certPem?: string;
  keyPem?: string;
}

/** A request's answer: HTTP status and body text. */
export interface TlsAnswer {
  status: number;
  body: string;
}

/** Send one request; `identity.caPem` undefined-equivalent `''` skips verification (component health ports). */
export function tlsRequest(
  url: string,
  identity: TlsIdentity,
  options: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<TlsAnswer> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = request(
      url,
      {
        method: options.method ?? 'GET',
        ...(identity.caPem ? { ca: identity.caPem } : { rejectUnauthorized: false }),
        ...(identity.certPem ? { cert: identity.certPem, key: identity.keyPem } : {}),
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
        timeout: options.timeoutMs ?? 5000,
      },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`${url}: no answer within ${options.timeoutMs ?? 5000} ms`)),
    );
    req.on('error', reject);
    req.end(payload);
  });
}
