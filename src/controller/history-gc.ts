/**
 * History: finished DeployRequests are deleted after a TTL, and beyond the newest N per workload.
 * The audit trail stays in Events and logs (and in GitHub deployments, when reported).
 */
import { TERMINAL_PHASES, type DeployRequest } from '../api/types.js';
import type { KubeClient, KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';

export interface HistorySettings {
  /** Delete finished requests this long after completion; 0 keeps them. */
  ttlMs?: number;
  /** Keep at most this many finished requests per workload; 0 keeps all. */
  limitPerWorkload?: number;
  /** How often to collect. Default 60 s. */
  intervalMs?: number;
}

type Request = DeployRequest & KubeObject;

/** Which finished requests to delete now (pure: tested without a cluster). */
export function requestsToCollect(requests: Request[], settings: HistorySettings, now: Date): Request[] {
  const finished = requests.filter((request) => TERMINAL_PHASES.includes(request.status?.phase ?? 'Pending'));
  const doomed = new Set<Request>();
  if (settings.ttlMs && settings.ttlMs > 0) {
    for (const request of finished) {
      const completed = Date.parse(request.status?.completedAt ?? request.metadata.creationTimestamp ?? '');
      if (Number.isFinite(completed) && now.getTime() - completed > settings.ttlMs) doomed.add(request);
    }
  }
  if (settings.limitPerWorkload && settings.limitPerWorkload > 0) {
    const byWorkload = new Map<string, Request[]>();
    for (const request of finished) {
      const key = `${request.metadata.namespace}/${request.spec.target.kind}/${request.spec.target.name}`;
      byWorkload.set(key, [...(byWorkload.get(key) ?? []), request]);
    }
    for (const list of byWorkload.values()) {
      list.sort((a, b) => Date.parse(b.status?.completedAt ?? '') - Date.parse(a.status?.completedAt ?? ''));
      for (const request of list.slice(settings.limitPerWorkload)) doomed.add(request);
    }
  }
  return [...doomed];
}

/** Delete what `requestsToCollect` selects. */
export async function collectHistory(
  kube: KubeClient,
  requests: Request[],
  settings: HistorySettings,
  now: Date,
  logger?: Logger,
): Promise<number> {
  const doomed = requestsToCollect(requests, settings, now);
  for (const request of doomed) {
    await kube.delete(RESOURCE_TYPES.deployRequests, request.metadata.namespace, request.metadata.name ?? '');
    logger?.info(
      { request: `${request.metadata.namespace}/${request.metadata.name}`, phase: request.status?.phase },
      'deleted finished DeployRequest (history)',
    );
  }
  return doomed.length;
}
