/**
 * Kubernetes Events (core/v1, what `kubectl describe` shows). Recording an Event never fails a
 * reconcile: errors are logged and dropped, as client-go's recorder does. Like client-go's spam
 * filter, the recorder limits what one object can emit, so a reconcile failing in a hot retry loop
 * shows its error once instead of flooding the namespace: an Event identical (type, reason,
 * message) to one recorded for the same object within `repeatWindowMs` is dropped, and each object
 * has a bucket of `burst` Events refilled by one every `refillMs`.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';

/** Records Events about objects. */
export interface EventRecorder {
  record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

/** Who emits the Events and how many it may emit. */
export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent` of the Events. */
  component: string;
  logger?: Logger;
  now?: () => Date;
  /** Identical Events for one object within this window are dropped. Default 5 minutes. */
  repeatWindowMs?: number;
  /** Events one object may emit at once. Default 25 (client-go's spam filter). */
  burst?: number;
  /** One more Event per object each this often. Default 5 minutes. */
  refillMs?: number;
  /** Objects remembered for rate limiting; the least recently seen are forgotten. Default 4096. */
  maxObjects?: number;
}

interface ObjectBudget {
  tokens: number;
  refilledAt: number;
  /** When each Event signature was last recorded. */
  recent: Map<string, number>;
}

/** Make a recorder that writes core/v1 Events through the KubeClient. */
export function createEventRecorder(kube: KubeClient, options: EventRecorderOptions): EventRecorder {
  const now = options.now ?? (() => new Date());
  const repeatWindowMs = options.repeatWindowMs ?? 5 * 60_000;
  const burst = options.burst ?? 25;
  const refillMs = options.refillMs ?? 5 * 60_000;
  const maxObjects = options.maxObjects ?? 4096;
  const budgets = new Map<string, ObjectBudget>();

  /** Take a token for this Event, or say why not. */
  const admit = (object: KubeObject, signature: string, at: number): string | undefined => {
    const key = object.metadata.uid ?? `${object.metadata.namespace}/${object.metadata.name}`;
    const budget = budgets.get(key) ?? { tokens: burst, refilledAt: at, recent: new Map() };
    // Most recently seen last, so the first entry is the one to forget.
    budgets.delete(key);
    budgets.set(key, budget);
    if (budgets.size > maxObjects) budgets.delete(budgets.keys().next().value as string);
    const refills = Math.floor((at - budget.refilledAt) / refillMs);
    if (refills > 0) {
      budget.tokens = Math.min(burst, budget.tokens + refills);
      budget.refilledAt += refills * refillMs;
    }
    for (const [seen, when] of budget.recent) if (at - when >= repeatWindowMs) budget.recent.delete(seen);
    if (budget.recent.has(signature)) return 'repeated within the window';
    if (budget.tokens <= 0) return 'rate limited';
    budget.tokens -= 1;
    budget.recent.set(signature, at);
    return undefined;
  };

  return {
    async record(object, type, reason, message) {
      const at = now();
      const text = message.slice(0, 1024);
      const dropped = admit(object, `${type}\u0000${reason}\u0000${text}`, at.getTime());
      const where = `${object.metadata.namespace}/${object.metadata.name}`;
      if (dropped) {
        options.logger?.debug({ object: where, reason, why: dropped }, 'event not recorded');
        return;
      }
      const time = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
      try {
        await kube.create(RESOURCE_TYPES.events, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: {
            name: `${object.metadata.name}.${randomBytes(8).toString('hex')}`,
            namespace: object.metadata.namespace,
          },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.metadata.name,
            namespace: object.metadata.namespace,
            uid: object.metadata.uid,
            resourceVersion: object.metadata.resourceVersion,
          },
          reason,
          message: text,
          type,
          source: { component: options.component },
          reportingComponent: options.component,
          reportingInstance: options.component,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        });
      } catch (error) {
        options.logger?.warn({ err: error, reason, object: where }, 'could not record event');
      }
    },
  };
}
