/**
 * The receiver's view of DeployPolicies: an informer's cache, so that an accepted dispatch costs
 * one API call (the create) instead of a list and a create.
 *
 * A cache lags behind writes by one watch event. A policy created a moment before a dispatch may
 * not be cached yet, so the receiver only trusts the cache to admit: when the cache admits nothing,
 * it asks the API server before refusing (see `record-request.ts`). Admitting from a stale cache
 * is safe because the receiver's check is pre-authorisation: the controller evaluates every request
 * against the policies it reads when it deploys.
 */
import type { DeployPolicy } from '../api/types.js';
import type { KubeClient, KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import { createScopedInformer } from '../kube/scoped-informer.js';
import type { Logger } from '../observability/logger.js';

/** Cached DeployPolicies by namespace. */
export interface PolicyCache {
  /** The cached policies of a namespace; undefined until the first list has filled the cache. */
  list(namespace: string): DeployPolicy[] | undefined;
  /** True once the first list has filled the cache. */
  readonly synced: boolean;
  /** Start listing and watching; resolves after the first list (retrying until then or stop). */
  start(): Promise<void>;
  stop(): void;
}

export interface PolicyCacheOptions {
  kube: KubeClient;
  /** Namespaces the receiver serves (its Roles cover only these); empty for all. */
  namespaces: readonly string[];
  logger?: Logger;
}

/** A DeployPolicy cache over the namespaces the receiver serves. */
export function createPolicyCache(options: PolicyCacheOptions): PolicyCache {
  const informer = createScopedInformer<DeployPolicy & KubeObject>({
    kube: options.kube,
    type: RESOURCE_TYPES.deployPolicies,
    namespaces: options.namespaces,
    logger: options.logger,
  });
  return {
    list: (namespace) => (informer.hasSynced ? informer.list(namespace) : undefined),
    get synced() {
      return informer.hasSynced;
    },
    start: () => informer.start(),
    stop: () => informer.stop(),
  };
}
