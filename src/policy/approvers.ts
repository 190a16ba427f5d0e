/**
 * Who counts as an approver under a policy's `approval.approvers`: Kubernetes user names, and
 * groups written `group:NAME`. The names are those the API server authenticated; the shipped
 * admission policy makes sure the approval annotations carry them (see approval-admission.ts).
 */

/** Prefix of an approvers entry that names a group. */
export const GROUP_PREFIX = 'group:';

/** Who approved or rejected: a user, and the group they acted as a member of (when that is what made them an approver). */
export interface Approver {
  user: string;
  group?: string;
}

/** Whether `who` counts under `approvers` (absent or empty: every user counts). */
export function countsAsApprover(approvers: readonly string[] | undefined, who: Approver): boolean {
  if (!approvers || approvers.length === 0) return true;
  if (approvers.includes(who.user) && !who.user.startsWith(GROUP_PREFIX)) return true;
  return who.group !== undefined && who.group !== '' && approvers.includes(`${GROUP_PREFIX}${who.group}`);
}

/**
 * How an authenticated user approves under `approvers`: by name when listed (or when the list is
 * empty), else as a member of the first listed group they belong to; undefined when they are not
 * an approver.
 */
export function approverIdentity(
  approvers: readonly string[] | undefined,
  user: { username: string; groups?: readonly string[] },
): Approver | undefined {
  if (countsAsApprover(approvers, { user: user.username })) return { user: user.username };
  const group = (approvers ?? [])
    .filter((entry) => entry.startsWith(GROUP_PREFIX))
    .map((entry) => entry.slice(GROUP_PREFIX.length))
    .find((name) => name !== '' && (user.groups ?? []).includes(name));
  return group === undefined ? undefined : { user: user.username, group };
}

/** `alice`, or `carol (group sre)`. */
export function describeApprover(who: Approver): string {
  return who.group ? `${who.user} (group ${who.group})` : who.user;
}

/** The approvers list as a sentence fragment: `alice, group:sre`, or `any user` when empty. */
export function describeApprovers(approvers: readonly string[] | undefined): string {
  return approvers && approvers.length > 0 ? approvers.join(', ') : 'any user';
}
