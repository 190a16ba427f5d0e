/**
 * Approvals bound to authenticated Kubernetes users, end to end: the API server's admission
 * refuses an approval annotation naming someone other than its writer, the controller counts only
 * approvers of the request's policy and only while the shipped admission policy is in force, and
 * the CLI asks the API server who its caller is. Users are impersonated (`as:` in a kubeconfig,
 * `kubectl --as/--as-group`). The cluster comes from test/support/test-cluster.ts only.
 */
import { jest } from '@jest/globals';
import type { DeployPolicySpec, DeployRequest } from '../../src/api/types.js';
import { startController, type RunningController } from '../../src/controller/controller-manager.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { shippedApprovalAdmission } from '../../src/policy/index.js';
import { untilApprovalAdmissionInForce } from '../support/approval-admission.js';
import { runCli } from '../support/cli-process.js';
import { kubectl } from '../support/kubectl.js';
import { startTestCluster, type TestCluster } from '../support/test-cluster.js';

type Request = DeployRequest & KubeObject;

// Several tests run the CLI binary more than once (a few seconds each on a loaded machine).
jest.setTimeout(120_000);

let cluster: TestCluster;
let controller: RunningController;

const GATED: Partial<DeployPolicySpec> = { approval: { required: true, approvers: ['alice', 'group:sre'] } };
const DENIAL =
  "ValidatingAdmissionPolicy 'keyless-deploy-approvals' with binding 'keyless-deploy-approvals' denied request";

beforeAll(async () => {
  cluster = await startTestCluster();
  controller = await startController({
    kube: cluster.kube,
    attestationKeys: [],
    logger: silentLogger(),
    pollMs: 50,
    approvalAdmissionSettleSeconds: cluster.admissionSettleSeconds,
  });
});

afterAll(async () => {
  await controller.stop();
  await cluster.close();
});

/** A namespace with a Deployment `web` and a DeployPolicy `gated` allowing manual requests. */
async function scenario(namespace: string, policy: Partial<DeployPolicySpec> = GATED): Promise<void> {
  const { kube } = cluster;
  await cluster.namespace(namespace);
  await kube.create(RESOURCE_TYPES.deployments, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0' }] },
      },
    },
  });
  await kube.create(RESOURCE_TYPES.deployPolicies, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: 'gated', namespace },
    spec: {
      targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
      allowManual: true,
      images: { repositories: ['ghcr.io/acme/web'] },
      ...policy,
    },
  });
}

async function manual(namespace: string, name: string, image = 'ghcr.io/acme/web:2.0.0'): Promise<Request> {
  return cluster.kube.create<Request>(RESOURCE_TYPES.deployRequests, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name, namespace },
    spec: {
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image }],
      source: { type: 'kubernetes' },
    },
  } as Request);
}

async function get(namespace: string, name: string): Promise<Request> {
  return (await cluster.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name)) as Request;
}

/** Wait until the request satisfies `done` (re-read every 40 ms, at most 15 s; 60 s on a real cluster). */
async function waitUntil(
  namespace: string,
  name: string,
  done: (request: Request) => boolean,
  what: string,
): Promise<Request> {
  const deadline = Date.now() + (cluster.real ? 60_000 : 15_000);
  let last = await get(namespace, name);
  while (!done(last)) {
    if (Date.now() > deadline)
      throw new Error(
        `${namespace}/${name}: ${what} not reached: ${last.status?.phase} ${last.status?.message}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 40));
    last = await get(namespace, name);
  }
  return last;
}

const approvedCondition = (request: Request) =>
  request.status?.conditions?.find((c) => c.type === 'Approved');

function waitForReason(namespace: string, name: string, reason: string, message?: string): Promise<Request> {
  return waitUntil(
    namespace,
    name,
    (r) =>
      r.status?.phase === 'WaitingForApproval' &&
      approvedCondition(r)?.reason === reason &&
      (message === undefined || (approvedCondition(r)?.message ?? '').includes(message)),
    `WaitingForApproval/${reason}${message ? ` "${message}"` : ''}`,
  );
}

async function warnings(namespace: string, name: string, reason: string): Promise<string[]> {
  const list = await cluster.kube.list<KubeObject>(RESOURCE_TYPES.events, namespace, {
    fieldSelector: `involvedObject.name=${name}`,
  });
  return list.items
    .filter((event) => event.type === 'Warning' && event.reason === reason)
    .map((event) => String(event.message));
}

/** kubectl as the administrator, `--as USER [--as-group G]...` impersonating. */
function kubectlAs(user: string, groups: string[], args: string[]) {
  return kubectl(cluster.kubeconfig, [...args, '--as', user, ...groups.flatMap((g) => ['--as-group', g])]);
}

describe('approvals are bound to the Kubernetes user who writes them', () => {
  test('bob cannot approve as alice: the API server refuses the annotation and nothing changes', async () => {
    await scenario('appr-forge');
    await manual('appr-forge', 'r1');
    const before = await waitForReason('appr-forge', 'r1', 'WaitingForApproval');
    for (const annotation of ['keyless.dev/approved-by=alice', 'keyless.dev/rejected-by=alice']) {
      const forged = await kubectlAs('bob', [], ['annotate', 'dr', 'r1', '-n', 'appr-forge', annotation]);
      expect(forged.code).toBe(1);
      expect(forged.stderr).toContain(
        `Error from server (Forbidden): deployrequests.keyless.dev "r1" is forbidden: ${DENIAL}`,
      );
      expect(forged.stderr).toContain(`may only be set to your own user name (bob), not alice`);
    }
    // Claiming a group one is not in is refused the same way.
    const group = await kubectlAs(
      'bob',
      ['dev'],
      [
        'annotate',
        'dr',
        'r1',
        '-n',
        'appr-forge',
        'keyless.dev/approved-by=bob',
        'keyless.dev/approved-by-group=sre',
      ],
    );
    expect(group.code).toBe(1);
    expect(group.stderr).toContain('keyless.dev/approved-by-group may only name one of your own groups');
    const after = await get('appr-forge', 'r1');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.annotations).toBeUndefined();
    expect(after.status?.phase).toBe('WaitingForApproval');
  });

  test('a non-approver approving or rejecting under their own name changes nothing but a Warning Event', async () => {
    await scenario('appr-bob');
    await manual('appr-bob', 'r1');
    await waitForReason('appr-bob', 'r1', 'WaitingForApproval');
    const own = await kubectlAs(
      'bob',
      [],
      ['annotate', 'dr', 'r1', '-n', 'appr-bob', 'keyless.dev/approved-by=bob'],
    );
    expect(own.code).toBe(0);
    const waiting = await waitForReason('appr-bob', 'r1', 'NotAnApprover');
    expect(approvedCondition(waiting)?.message).toBe(
      'waiting for approval: bob is not an approver of DeployPolicy gated (approvers: alice, group:sre), so the approval by bob does not count',
    );
    expect(await warnings('appr-bob', 'r1', 'NotAnApprover')).toContain(approvedCondition(waiting)?.message);
    const rejected = await kubectlAs(
      'bob',
      [],
      ['annotate', 'dr', 'r1', '-n', 'appr-bob', 'keyless.dev/rejected-by=bob'],
    );
    expect(rejected.code).toBe(0);
    const still = await waitForReason(
      'appr-bob',
      'r1',
      'NotAnApprover',
      'the rejection by bob and the approval by bob',
    );
    expect(still.status?.phase).toBe('WaitingForApproval');
    expect(still.status?.rejectedBy).toBeUndefined();
  });

  test('alice approves with the CLI, as herself, and the controller deploys', async () => {
    await scenario('appr-alice');
    await manual('appr-alice', 'r1');
    await waitForReason('appr-alice', 'r1', 'WaitingForApproval');
    const result = await runCli([
      'approve',
      'r1',
      '-n',
      'appr-alice',
      '--kubeconfig',
      await cluster.kubeconfigAs('alice'),
    ]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('deployrequest appr-alice/r1 approved by alice');
    expect(result.code).toBe(0);
    const done = await waitUntil('appr-alice', 'r1', (r) => r.status?.phase === 'Succeeded', 'Succeeded');
    expect(done.metadata.annotations).toEqual({ 'keyless.dev/approved-by': 'alice' });
    expect(done.status?.approvedBy).toBe('alice');
    expect(approvedCondition(done)?.message).toBe('approved by alice');
  });

  test('a member of an approver group approves (user and group written together) and the controller deploys', async () => {
    await scenario('appr-group');
    await manual('appr-group', 'r1');
    await waitForReason('appr-group', 'r1', 'WaitingForApproval');
    const approved = await kubectlAs(
      'carol',
      ['sre'],
      [
        'annotate',
        'dr',
        'r1',
        '-n',
        'appr-group',
        'keyless.dev/approved-by=carol',
        'keyless.dev/approved-by-group=sre',
      ],
    );
    expect(approved.stderr).toBe('');
    const done = await waitUntil('appr-group', 'r1', (r) => r.status?.phase === 'Succeeded', 'Succeeded');
    expect(done.status?.approvedBy).toBe('carol (group sre)');
  });

  test('a rejection by an approver ends the request; reject with the CLI', async () => {
    await scenario('appr-reject');
    await manual('appr-reject', 'r1');
    await waitForReason('appr-reject', 'r1', 'WaitingForApproval');
    const result = await runCli([
      'reject',
      'r1',
      '-n',
      'appr-reject',
      '--kubeconfig',
      await cluster.kubeconfigAs('alice'),
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deployrequest appr-reject/r1 rejected by alice');
    const done = await waitUntil('appr-reject', 'r1', (r) => r.status?.phase === 'Rejected', 'Rejected');
    expect(done.status?.rejectedBy).toBe('alice');
    expect(done.status?.message).toBe('rejected by alice');
  });
});

describe('keyless-deploy approve/reject refuse before writing anything', () => {
  beforeAll(async () => {
    await scenario('appr-cli');
    await scenario('appr-window', {
      // Closed for the next hours whatever the time: a window that opens two hours from now.
      windows: [
        {
          start: `${String((new Date().getUTCHours() + 2) % 24).padStart(2, '0')}:00`,
          end: `${String((new Date().getUTCHours() + 3) % 24).padStart(2, '0')}:00`,
        },
      ],
    });
  });

  async function refused(
    args: string[],
    user: string,
    code: number,
    message: string,
    namespace: string,
    name: string,
  ) {
    const before = await cluster.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
    const result = await runCli([...args, '--kubeconfig', await cluster.kubeconfigAs(user)]);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(code);
    const after = await cluster.kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
  }

  test('not an approver: exit 3 naming who you are and who the approvers are', async () => {
    await manual('appr-cli', 'waiting');
    await waitForReason('appr-cli', 'waiting', 'WaitingForApproval');
    for (const verb of ['approve', 'reject'])
      await refused(
        [verb, 'waiting', '-n', 'appr-cli'],
        'bob',
        3,
        `keyless-deploy ${verb}: you (bob, groups system:authenticated) are not an approver of deployrequest appr-cli/waiting: DeployPolicy gated names alice, group:sre`,
        'appr-cli',
        'waiting',
      );
  });

  test('a finished request: exit 3 naming its phase', async () => {
    await manual('appr-cli', 'finished', 'ghcr.io/acme/web:3.0.0');
    await waitForReason('appr-cli', 'finished', 'WaitingForApproval');
    await runCli([
      'reject',
      'finished',
      '-n',
      'appr-cli',
      '--kubeconfig',
      await cluster.kubeconfigAs('alice'),
    ]);
    await waitUntil('appr-cli', 'finished', (r) => r.status?.phase === 'Rejected', 'Rejected');
    await refused(
      ['approve', 'finished', '-n', 'appr-cli'],
      'alice',
      3,
      'keyless-deploy approve: deployrequest appr-cli/finished has finished (phase Rejected): there is nothing to decide',
      'appr-cli',
      'finished',
    );
  });

  test('a request that does not wait for approval: exit 3 naming its phase', async () => {
    await manual('appr-window', 'later');
    await waitUntil('appr-window', 'later', (r) => r.status?.phase === 'Waiting', 'Waiting');
    await refused(
      ['approve', 'later', '-n', 'appr-window'],
      'alice',
      3,
      'keyless-deploy approve: deployrequest appr-window/later does not wait for approval (phase Waiting)',
      'appr-window',
      'later',
    );
  });

  test('a missing request is exit 1; --by is a usage error (exit 2)', async () => {
    const missing = await runCli([
      'approve',
      'nope',
      '-n',
      'appr-cli',
      '--kubeconfig',
      await cluster.kubeconfigAs('alice'),
    ]);
    expect(missing.stderr).toContain('keyless-deploy approve: deployrequest appr-cli/nope not found');
    expect(missing.code).toBe(1);
    await refused(
      ['approve', 'waiting', '-n', 'appr-cli', '--by', 'alice'],
      'bob',
      2,
      'keyless-deploy: --by is gone: the decision is recorded under your own Kubernetes user (kubectl auth whoami)',
      'appr-cli',
      'waiting',
    );
  });

  test('no kubeconfig anywhere: exit 2 saying where it looked, not a connection error', async () => {
    const result = await runCli(['approve', 'waiting', '-n', 'appr-cli'], { HOME: '/nonexistent-home' });
    expect(result.stderr).toContain(
      'keyless-deploy: no kubeconfig found: looked for --kubeconfig (not given), KUBECONFIG (not set), /nonexistent-home/.kube/config (does not exist) and an in-cluster service account (KUBERNETES_SERVICE_HOST not set); pass --kubeconfig FILE or set KUBECONFIG',
    );
    expect(result.code).toBe(2);
    const named = await runCli(['reject', 'waiting', '-n', 'appr-cli'], {
      KUBECONFIG: '/nonexistent/config',
    });
    expect(named.stderr).toContain(
      'no kubeconfig found: KUBECONFIG names /nonexistent/config, which does not exist',
    );
    expect(named.code).toBe(2);
  });

  test('--help says who decides, what is checked and the exit codes', async () => {
    const result = await runCli(['approve', '--help']);
    expect(result.code).toBe(0);
    for (const text of [
      "what 'kubectl auth whoami' shows",
      'There is no option to name someone else.',
      'refuses\n(exit 3, nothing changed) when the request has finished, when it does not wait for approval, or\nwhen you are not one of the policy',
      'keyless.dev/approved-by=YOU',
      'keyless.dev/approved-by-group=GROUP',
      'ValidatingAdmissionPolicy keyless-deploy-approvals',
      '3 refused',
    ])
      expect(result.stdout).toContain(text);
  });
});

describe('without the admission policy in force, the controller counts no approval (fail closed)', () => {
  const { binding } = shippedApprovalAdmission();

  test('binding missing: waiting with a condition and a Warning Event saying what to install; a forged approval does not deploy', async () => {
    await scenario('appr-open');
    await cluster.kube.delete(
      RESOURCE_TYPES.validatingAdmissionPolicyBindings,
      undefined,
      'keyless-deploy-approvals',
    );
    try {
      await manual('appr-open', 'r1');
      const waiting = await waitForReason('appr-open', 'r1', 'ApprovalNotVerifiable');
      const message =
        'waiting for approval, but no approval or rejection counts: ValidatingAdmissionPolicyBinding keyless-deploy-approvals is not installed: install them with the keyless-deploy chart (value approvals.admissionPolicy.install, on by default; Kubernetes >= 1.30)';
      expect(approvedCondition(waiting)?.message).toBe(message);
      expect(await warnings('appr-open', 'r1', 'ApprovalNotVerifiable')).toContain(message);
      // Nothing stops bob from writing alice's name now, and nothing counts it. A real API server
      // stops enforcing the deleted binding once its admission informer has seen the deletion:
      // until then the policy still refuses, so bob tries again (bounded).
      const forge = () =>
        kubectlAs('bob', [], ['annotate', 'dr', 'r1', '-n', 'appr-open', 'keyless.dev/approved-by=alice']);
      let forged = await forge();
      for (
        const deadline = Date.now() + 30_000;
        forged.code !== 0 && forged.stderr.includes('keyless-deploy-approvals') && Date.now() < deadline;
      )
        forged = await forge();
      expect(forged.code).toBe(0);
      await waitUntil(
        'appr-open',
        'r1',
        (r) => r.metadata.annotations?.['keyless.dev/approved-by'] === 'alice',
        'annotated',
      );
      const still = await waitForReason('appr-open', 'r1', 'ApprovalNotVerifiable');
      expect(still.status?.approvedBy).toBeUndefined();
    } finally {
      await cluster.kube.create(RESOURCE_TYPES.validatingAdmissionPolicyBindings, binding as KubeObject);
    }
    await untilApprovalAdmissionInForce(cluster.kube, cluster.admissionSettleSeconds);
    // Back in force, the annotation written without it still does not count: the request predates it.
    await cluster.kube.patch(
      RESOURCE_TYPES.deployRequests,
      'appr-open',
      'r1',
      { metadata: { labels: { touched: 'yes' } } },
      'merge',
    );
    const predates = await waitForReason(
      'appr-open',
      'r1',
      'ApprovalNotVerifiable',
      'was created before keyless-deploy-approvals took effect',
    );
    expect(predates.status?.phase).toBe('WaitingForApproval');
    // A request made now can be approved.
    await manual('appr-open', 'r2', 'ghcr.io/acme/web:4.0.0');
    await waitForReason('appr-open', 'r2', 'WaitingForApproval');
    const approved = await runCli([
      'approve',
      'r2',
      '-n',
      'appr-open',
      '--kubeconfig',
      await cluster.kubeconfigAs('alice'),
    ]);
    expect(approved.code).toBe(0);
    await waitUntil('appr-open', 'r2', (r) => r.status?.phase === 'Succeeded', 'Succeeded');
  });

  test('a binding that only warns is not as shipped: approvals do not count, and the message names the field', async () => {
    await scenario('appr-warn');
    await cluster.kube.patch(
      RESOURCE_TYPES.validatingAdmissionPolicyBindings,
      undefined,
      'keyless-deploy-approvals',
      { spec: { validationActions: ['Warn'] } },
      'merge',
    );
    try {
      await manual('appr-warn', 'r1');
      const waiting = await waitForReason('appr-warn', 'r1', 'ApprovalNotVerifiable');
      expect(approvedCondition(waiting)?.message).toContain(
        'ValidatingAdmissionPolicyBinding keyless-deploy-approvals is not as shipped (it differs at spec.validationActions[0])',
      );
    } finally {
      await cluster.kube.patch(
        RESOURCE_TYPES.validatingAdmissionPolicyBindings,
        undefined,
        'keyless-deploy-approvals',
        { spec: { validationActions: ['Deny'] } },
        'merge',
      );
    }
  });
});

describe('DeployPolicy approval.approvers syntax', () => {
  test.each([
    [['group:'], 'group: must be followed by a group name (group:NAME)'],
    [['alice smith'], 'spec.approval.approvers[0]'],
    [[''], 'spec.approval.approvers[0]'],
    [['alice', 'alice'], 'Duplicate value: "alice"'],
  ])('%j is refused with a message and nothing is stored', async (approvers, message) => {
    const manifest = JSON.stringify({
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployPolicy',
      metadata: { name: 'bad-approvers', namespace: 'default' },
      spec: {
        targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
        images: { repositories: ['ghcr.io/acme/web'] },
        approval: { required: true, approvers },
      },
    });
    const result = await kubectl(cluster.kubeconfig, ['apply', '-f', '-'], { input: manifest });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(message);
    expect(await cluster.kube.get(RESOURCE_TYPES.deployPolicies, 'default', 'bad-approvers')).toBeUndefined();
  });
});
