/**
 * Kubernetes Events on DeployRequests (core/v1, what `kubectl describe` shows). Recording an Event
 * never fails a reconcile: errors are logged and dropped, as client-go's recorder does.
 */
import { randomBytes } from 'node:crypto';
import type { KubeClient, KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';

export const EVENT_SOURCE = 'keyless-deploy-controller';

export interface EventRecorder {
  record(object: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

/** Make a recorder that writes core/v1 Events through the KubeClient. */
export function createEventRecorder(
  kube: KubeClient,
  logger?: Logger,
  now: () => Date = () => new Date(),
): EventRecorder {
  return {
    async record(object, type, reason, message) {
      const time = now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z');
      const name = `${object.metadata.name}.${randomBytes(8).toString('hex')}`;
      try {
        await kube.create(RESOURCE_TYPES.events, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace: object.metadata.namespace },
          involvedObject: {
            apiVersion: object.apiVersion,
            kind: object.kind,
            name: object.metadata.name,
            namespace: object.metadata.namespace,
            uid: object.metadata.uid,
            resourceVersion: object.metadata.resourceVersion,
          },
          reason,
          message: message.slice(0, 1024),
          type,
          source: { component: EVENT_SOURCE },
          reportingComponent: EVENT_SOURCE,
          reportingInstance: EVENT_SOURCE,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        });
      } catch (error) {
        logger?.warn(
          { err: error, reason, object: `${object.metadata.namespace}/${object.metadata.name}` },
          'could not record event',
        );
      }
    },
  };
}
