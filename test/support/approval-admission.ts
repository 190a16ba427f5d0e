/**
 * Requests count for approval only when created in a later second than the approval admission
 * policy and its binding (plus the controller's settle time): creationTimestamps have whole
 * seconds. Tests that install the policy and then create requests wait for exactly that.
 */
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { APPROVAL_ADMISSION_NAME } from '../../src/policy/index.js';

/** Resolve once a request created now would be younger than the admission objects (by `settleSeconds`). */
export async function untilApprovalAdmissionInForce(kube: KubeClient, settleSeconds: number): Promise<void> {
  const created = await Promise.all(
    [RESOURCE_TYPES.validatingAdmissionPolicies, RESOURCE_TYPES.validatingAdmissionPolicyBindings].map(
      async (type) =>
        Date.parse(
          (await kube.get<KubeObject>(type, undefined, APPROVAL_ADMISSION_NAME))?.metadata
            .creationTimestamp ?? '',
        ),
    ),
  );
  if (created.some((time) => !Number.isFinite(time)))
    throw new Error('the approval admission objects are not installed');
  const after = Math.max(...created) + (settleSeconds + 1) * 1000;
  while (Date.now() < after)
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, after - Date.now())));
}
