/**
 * Counting workload patches the API server accepted, to prove that no workload is patched twice
 * for one DeployRequest (shared by the e2e resilience tests and the chaos suite).
 */
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';

export interface AppliedPatch {
  /** `namespace/name` of the workload. */
  workload: string;
  /** The patch body as JSON. */
  body: string;
}

/** A KubeClient that records every workload patch that the API server accepted. */
export function countingKube(kube: KubeClient, applied: AppliedPatch[]): KubeClient {
  return {
    ...kube,
    async patch<T extends KubeObject>(...args: Parameters<KubeClient['patch']>): Promise<T> {
      const [type, namespace, name, patch, patchType, options] = args;
      const result = await kube.patch<T>(type, namespace, name, patch, patchType, options);
      if (type.group === 'apps' || type.group === 'batch')
        applied.push({ workload: `${namespace}/${name}`, body: JSON.stringify(patch) });
      return result;
    },
  };
}

/** Accepted patches naming `request` (`namespace/name`) in the marker annotation. */
export function patchesFor(
  applied: Array<{ body: string }>,
  request: string,
  marker = 'keyless.dev/deploy-request',
): number {
  return applied.filter((p) => p.body.includes(`"${marker}":"${request}"`)).length;
}
