/**
 * Who makes a request to the embedded API server. It has no authentication: every caller is the
 * playground's administrator, unless the request carries kubectl's impersonation headers
 * (`kubectl --as bob --as-group sre`, or `as:` in a kubeconfig), which a real API server honours
 * for callers allowed to impersonate, as the administrator is. The user is what admission
 * policies see as `request.userInfo` and what `kubectl auth whoami` answers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest } from '../status-error.js';

/** authentication.k8s.io/v1 UserInfo. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The user of every request without impersonation headers (the playground may do everything). */
export const PLAYGROUND_ADMIN: Readonly<UserInfo> = Object.freeze({
  username: 'playground-admin',
  groups: ['system:masters', 'system:authenticated'],
});

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';
const EXTRA_PREFIX = 'impersonate-extra-';

/** Groups a real API server gives an impersonated user on top of the requested ones. */
function impersonatedGroups(username: string, requested: string[]): string[] {
  const groups = [...requested];
  if (requested.length === 0 && username.startsWith(SERVICE_ACCOUNT_PREFIX)) {
    const namespace = username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':')[0] ?? '';
    groups.push('system:serviceaccounts', `system:serviceaccounts:${namespace}`);
  }
  if (username !== 'system:anonymous' && !groups.includes('system:authenticated'))
    groups.push('system:authenticated');
  return groups;
}

/**
 * The user of a request, from its headers (`headersDistinct`: repeated headers stay separate, as
 * `Impersonate-Group` is repeated once per group). Throws 400 for impersonation headers without
 * `Impersonate-User`.
 */
export function userFromHeaders(
  headers: Record<string, string[] | undefined> | IncomingHttpHeaders,
): UserInfo {
  const all = (name: string): string[] => {
    const value = headers[name];
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
  };
  const users = all('impersonate-user');
  const groups = all('impersonate-group');
  const uids = all('impersonate-uid');
  const extraKeys = Object.keys(headers).filter((name) => name.startsWith(EXTRA_PREFIX));
  if (users.length === 0) {
    if (groups.length > 0 || uids.length > 0 || extraKeys.length > 0)
      throw badRequest('impersonation headers other than Impersonate-User require Impersonate-User');
    return { ...PLAYGROUND_ADMIN, groups: [...PLAYGROUND_ADMIN.groups] };
  }
  const username = users[0] as string;
  if (users.length > 1 || username === '') throw badRequest('Impersonate-User must name exactly one user');
  const extra: Record<string, string[]> = {};
  for (const name of extraKeys) {
    let key: string;
    try {
      key = decodeURIComponent(name.slice(EXTRA_PREFIX.length));
    } catch {
      throw badRequest(`malformed impersonation header ${name}`);
    }
    extra[key] = all(name);
  }
  return {
    username,
    ...(uids[0] ? { uid: uids[0] } : {}),
    groups: impersonatedGroups(username, groups),
    ...(Object.keys(extra).length > 0 ? { extra } : {}),
  };
}
