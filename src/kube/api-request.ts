/**
 * One JSON request to the Kubernetes API server, sent with undici's `request` over the
 * connection and credentials `@kubernetes/client-node` derives from the kubeconfig.
 *
 * Why not client-node's generated API classes for these calls: their path goes through the
 * WHATWG `fetch` of undici, web streams and client-node's request/response objects, and measured
 * here a GET cost 323 us of CPU against 78 us through `request` on the same machine (client and a
 * local server together, see docs/performance.md). The receiver makes one such call per accepted
 * dispatch and the controller about twelve per request, so that path was most of their CPU.
 * client-node still decides everything about identity and transport: `applySecurityAuthentication`
 * gives the headers (bearer tokens, refreshed token files, exec and auth-provider plugins, basic
 * auth, impersonation) and the dispatcher (CA, client certificates, server name, proxies) of every
 * call, as it does for its own requests.
 */
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { request, type Dispatcher } from 'undici';
import { KubeApiError } from './kube-client.js';

/** User agent of every call, the same as the GitHub clients'. */
export const USER_AGENT = 'keyless-deploy';

/** HTTP methods of the API server calls made this way. */
export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Query, body and content type of one call. */
export interface ApiRequestOptions {
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | boolean | undefined>;
  /** Serialised as JSON. */
  body?: unknown;
  /** Content type of the body; default `application/json`. */
  contentType?: string;
}

/** Send one call; resolves the decoded JSON answer, throws {@link KubeApiError} for anything else. */
export type ApiRequest = <T>(method: ApiMethod, path: string, options?: ApiRequestOptions) => Promise<T>;

/** The two calls `applySecurityAuthentication` makes on client-node's request context. */
interface AuthTarget {
  setHeaderParam(key: string, value: string): void;
  setDispatcher(dispatcher: unknown): void;
}

/** Make the requester for the kubeconfig's current context. */
export function createApiRequest(config: KubeConfig): ApiRequest {
  const server = config.getCurrentCluster()?.server.replace(/\/+$/, '');
  return async <T>(method: ApiMethod, path: string, options: ApiRequestOptions = {}): Promise<T> => {
    if (!server) throw new KubeApiError('the kubeconfig has no current cluster', 0, 'ConnectionFailed');
    // The API server names the field manager of a write without `fieldManager` after the user
    // agent's first word, as it does for kubectl's.
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
    let dispatcher: Dispatcher | undefined;
    const target: AuthTarget = {
      setHeaderParam: (key, value) => void (headers[key.toLowerCase()] = value),
      setDispatcher: (value) => void (dispatcher = value as Dispatcher),
    };
    let answer: Dispatcher.ResponseData;
    let text: string;
    try {
      await config.applySecurityAuthentication(target as unknown as RequestContext);
      let body: string | undefined;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] = options.contentType ?? 'application/json';
      }
      answer = await request(`${server}${path}${queryString(options.query)}`, {
        method,
        headers,
        body,
        ...(dispatcher ? { dispatcher } : {}),
      });
      text = await answer.body.text();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new KubeApiError(`cannot reach the Kubernetes API: ${message}`, 0, 'ConnectionFailed');
    }
    if (answer.statusCode < 200 || answer.statusCode >= 300) throw statusError(answer.statusCode, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new KubeApiError(
        `the API server answered ${answer.statusCode} ${method} ${path} with a body that is not JSON`,
        answer.statusCode,
        'InvalidResponse',
      );
    }
  };
}

function queryString(query: ApiRequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/**
 * The API server's `Status` answer (JSON text or already decoded) as a KubeApiError; a body that is
 * not one still gives the HTTP code.
 */
export function statusError(code: number, body: unknown): KubeApiError {
  let decoded = body;
  if (typeof body === 'string') {
    try {
      decoded = JSON.parse(body);
    } catch {
      decoded = undefined;
    }
  }
  const status =
    decoded && typeof decoded === 'object' && !Array.isArray(decoded)
      ? (decoded as Record<string, unknown>)
      : undefined;
  const message = typeof status?.message === 'string' ? status.message : `HTTP ${code}`;
  const reason = typeof status?.reason === 'string' ? status.reason : 'Unknown';
  return new KubeApiError(message, code, reason, status);
}
