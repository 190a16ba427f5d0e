/**
 * Which GitHub deployment statuses a DeployRequest should have shown, in order, given where it is.
 * The reporter delivers the ones not yet delivered, so a report missed during an outage still
 * arrives, in order, and none arrives twice.
 */
import type { DeployRequest } from '../api/types.js';
import type { DeploymentState } from './github-deployments.js';

/** GitHub's limit on a status description. */
export const DESCRIPTION_LIMIT = 140;

/** The states a request in its current phase should have delivered, oldest first. */
export function desiredStates(request: Pick<DeployRequest, 'status'>): DeploymentState[] {
  const status = request.status ?? {};
  const started = status.startedAt !== undefined || status.deployedGeneration !== undefined;
  const ran: DeploymentState[] = started ? ['queued', 'in_progress'] : ['queued'];
  switch (status.phase ?? 'Pending') {
    case 'Pending':
      // Not yet authorised: nothing is said to GitHub before a policy has admitted the request
      // (and decided whether it reports at all).
      return [];
    case 'Waiting':
    case 'Queued':
    case 'WaitingForApproval':
      return ['queued'];
    case 'Deploying':
    case 'RollingBack':
      return ['queued', 'in_progress'];
    case 'Succeeded':
      return [...ran, 'success'];
    case 'Failed':
    case 'RolledBack':
      return [...ran, 'failure'];
    case 'Denied':
      // Refused before anything was queued: one status saying why.
      return ['error'];
    case 'Rejected':
      return ['queued', 'error'];
    case 'Superseded':
      return ['queued', 'inactive'];
    default:
      return [];
  }
}

/** A description for `state` within GitHub's 140 characters. */
export function describeState(
  request: Pick<DeployRequest, 'status' | 'spec'>,
  state: DeploymentState,
): string {
  const target = `${request.spec.target.kind}/${request.spec.target.name}`;
  const message = request.status?.message;
  const text =
    state === 'queued'
      ? `Queued: ${target}`
      : state === 'in_progress'
        ? `Deploying ${target}`
        : state === 'success'
          ? `Deployed ${target}`
          : message
            ? `${request.status?.phase ?? state}: ${message}`
            : `${request.status?.phase ?? state}: ${target}`;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= DESCRIPTION_LIMIT ? flat : `${flat.slice(0, DESCRIPTION_LIMIT - 1)}…`;
}
