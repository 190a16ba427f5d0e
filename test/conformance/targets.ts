/**
 * The two API servers the differential suite compares, each reachable the three ways the
 * scenarios use: the real kubectl (with one kubeconfig, so its discovery cache stays warm), the
 * project's client-node adapter, and raw HTTP (node:http/https with the kubeconfig's credentials,
 * for what the adapter does not expose: dry run, limit/continue, Table answers, watch streams).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { createClientNodeKubeClient } from '../../src/kube/client-node-kube-client.js';
import type { KubeClient } from '../../src/kube/kube-client.js';
import { loadKubeConfig } from '../../src/kube/load-kube-config.js';
import { kubectl, writeKubeconfig, type KubectlResult } from '../support/kubectl.js';

/** An HTTP answer: status code and the body, parsed when it is JSON. */
export interface HttpAnswer {
  code: number;
  body: unknown;
}

/** One parsed watch event, or the end of the stream. */
export interface WatchStream {
  /** The events read so far. */
  events: Array<{ type: string; object: Record<string, unknown> }>;
  /** The HTTP status of the watch request. */
  code: number;
  /** Resolves when the server ended the stream. */
  ended: Promise<void>;
  stop(): void;
}

export interface Target {
  /** `embedded` or `real`. */
  name: string;
  kubeconfigPath: string;
  kube: KubeClient;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  http(
    method: string,
    path: string,
    options?: { body?: unknown; contentType?: string; accept?: string },
  ): Promise<HttpAnswer>;
  /** Open a watch (GET with `watch=1` in `path`'s query) and collect its events. */
  watch(path: string): Promise<WatchStream>;
}

interface KubeconfigFile {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data'?: string } }>;
  users: Array<{ user: { 'client-certificate-data'?: string; 'client-key-data'?: string; token?: string } }>;
}

/** A target for the API server a kubeconfig (YAML) points at. */
export function createTarget(name: string, kubeconfigYaml: string): Target {
  const kubeconfigPath = writeKubeconfig(kubeconfigYaml);
  const parsed = parseYaml(kubeconfigYaml) as KubeconfigFile;
  const cluster = parsed.clusters[0]?.cluster;
  const user = parsed.users[0]?.user ?? {};
  if (!cluster) throw new Error(`${name}: the kubeconfig names no cluster`);
  const base = new URL(cluster.server);
  const decode = (data?: string): string | undefined =>
    data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
  const tls = {
    ca: decode(cluster['certificate-authority-data']),
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
  };

  function open(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const url = new URL(path, base);
      const options = {
        method,
        headers: {
          // A real server names the field manager of a write without fieldManager after it.
          'User-Agent': 'keyless-differential/1.0',
          ...headers,
          ...(user.token ? { Authorization: `Bearer ${user.token}` } : {}),
          ...(body !== undefined ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}),
        },
      };
      const req =
        url.protocol === 'https:'
          ? httpsRequest(url, { ...options, ...tls }, resolve)
          : httpRequest(url, options, resolve);
      req.on('error', reject);
      req.end(body);
    });
  }

  return {
    name,
    kubeconfigPath,
    kube: createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml })),
    kubectl: (args, input) => kubectl(kubeconfigPath, args, { input, timeoutMs: 30_000 }),
    async http(method, path, options = {}) {
      const body =
        options.body === undefined
          ? undefined
          : typeof options.body === 'string'
            ? options.body
            : JSON.stringify(options.body);
      const response = await open(
        method,
        path,
        {
          Accept: options.accept ?? 'application/json',
          ...(body !== undefined ? { 'Content-Type': options.contentType ?? 'application/json' } : {}),
        },
        body,
      );
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      let parsedBody: unknown = text;
      try {
        parsedBody = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      return { code: response.statusCode ?? 0, body: parsedBody };
    },
    async watch(path) {
      const response = await open('GET', path, { Accept: 'application/json' }, undefined);
      const events: WatchStream['events'] = [];
      let buffered = '';
      const ended = new Promise<void>((resolve) => {
        response.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          let newline: number;
          while ((newline = buffered.indexOf('\n')) >= 0) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (line) events.push(JSON.parse(line) as WatchStream['events'][number]);
          }
        });
        response.on('end', resolve);
        response.on('close', resolve);
        response.on('error', () => resolve());
      });
      return {
        events,
        code: response.statusCode ?? 0,
        ended,
        stop: () => response.destroy(),
      };
    },
  };
}
