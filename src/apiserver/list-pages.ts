/**
 * List pagination (`limit` and `continue`) as kube-apiserver answers it: items in key order, at
 * most `limit` of them, and while more remain an opaque `continue` token (base64 JSON naming the
 * list's resourceVersion and the key to start after) plus `remainingItemCount` when no selector
 * filters the list. A token continues from the key it names against the current objects (a real
 * server reads the snapshot at the token's resourceVersion; the difference shows only when objects
 * change between pages).
 */
import { badRequest } from './status-error.js';

export interface PageRequest {
  limit?: number;
  continue?: string;
  /** The list request's resourceVersion (not allowed together with continue). */
  resourceVersion?: string;
  /** Whether a label or field selector filters the list (no remainingItemCount then). */
  filtered: boolean;
}

export interface Page<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

interface Token {
  v: string;
  rv: number;
  start: string;
}

function decode(token: string): Token {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Partial<Token>;
    if (parsed.v === 'meta.k8s.io/v1' && typeof parsed.rv === 'number' && typeof parsed.start === 'string')
      return parsed as Token;
  } catch {
    // reported below
  }
  throw badRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

/** One page of `entries` (key, item; in key order) at the store's `revision`. */
export function pageOf<T>(entries: Array<[string, T]>, revision: number, request: PageRequest): Page<T> {
  let rv = revision;
  let rest = entries;
  if (request.continue) {
    if (request.resourceVersion && request.resourceVersion !== '')
      throw badRequest('specifying resource version is not allowed when using continue');
    const token = decode(request.continue);
    rv = token.rv;
    rest = entries.filter(([key]) => key >= token.start);
  }
  const limit = request.limit ?? 0;
  if (limit <= 0 || rest.length <= limit)
    return { items: rest.map(([, item]) => item), resourceVersion: String(rv) };
  const page = rest.slice(0, limit);
  const lastKey = (page[page.length - 1] as [string, T])[0];
  const token: Token = { v: 'meta.k8s.io/v1', rv, start: `${lastKey}\u0000` };
  return {
    items: page.map(([, item]) => item),
    resourceVersion: String(rv),
    continue: Buffer.from(JSON.stringify(token)).toString('base64'),
    ...(request.filtered ? {} : { remainingItemCount: rest.length - limit }),
  };
}
