/**
 * The controller end to end on the embedded API server, with real HTTP between all parts
 * (receiver and controller use client-node; tokens come from the playground's OIDC issuer).
 */
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import type { KubeObject } from '../../src/kube/kube-client.js';
import { kubectlOk } from '../support/kubectl.js';
import { grantApproverRbac } from '../support/test-cluster.js';
import { startHarness, type Harness, type Request } from './harness.js';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.controller();
});

afterAll(async () => {
  await h.close();
});

describe('controller', () => {
  test('dispatch -> Succeeded, with the workload running the new image; kubectl tells the story', async () => {
    await h.scenario('e2e-ok');
    const response = await h.dispatch('e2e-ok', { target: 'web', image: 'ghcr.io/acme/web:1.1.0' });
    expect(response.status).toBe(202);
    const name = String(response.body.name);
    const done = await h.waitFor('e2e-ok', name, ['Succeeded', 'Failed', 'Denied']);
    expect(done.status?.phase).toBe('Succeeded');
    expect(done.status?.previousImages).toEqual([{ container: 'web', image: 'ghcr.io/acme/web:1.0.0' }]);
    expect(done.status?.matchedPolicy).toBe('policy');
    expect(done.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'RolloutComplete',
    });
    expect(await h.images('e2e-ok')).toEqual(['ghcr.io/acme/web:1.1.0']);
    const kubeconfig = h.playground.info.kubeconfig;
    expect(await kubectlOk(kubeconfig, ['get', 'dr', '-n', 'e2e-ok'])).toMatch(
      new RegExp(`${name}\\s+Succeeded\\s+web\\s+ghcr\\.io/acme/web:1\\.1\\.0\\s+acme/web`),
    );
    const described = await kubectlOk(kubeconfig, ['describe', 'dr', name, '-n', 'e2e-ok']);
    expect(described).toMatch(/Normal\s+Deploying/);
    expect(described).toMatch(/Normal\s+RolloutComplete/);
  });

  test('a request whose images already run completes as a no-op without patching', async () => {
    await h.scenario('e2e-noop');
    const before = await h.kube.get<KubeObject>(RESOURCE_TYPES.deployments, 'e2e-noop', 'web');
    await h.manual('e2e-noop', 'same', { images: [{ container: 'web', image: 'ghcr.io/acme/web:1.0.0' }] });
    const done = await h.waitFor('e2e-noop', 'same', ['Succeeded', 'Failed']);
    expect(done.status?.conditions?.find((c) => c.type === 'Deployed')?.reason).toBe('AlreadyUpToDate');
    const after = await h.kube.get<KubeObject>(RESOURCE_TYPES.deployments, 'e2e-noop', 'web');
    expect(after?.metadata.generation).toBe(before?.metadata.generation);
  });

  test('manual requests pass only where the policy allows them', async () => {
    await h.scenario('e2e-manual-no', { allowManual: false });
    await h.manual('e2e-manual-no', 'by-hand');
    const denied = await h.waitFor('e2e-manual-no', 'by-hand', ['Denied', 'Succeeded']);
    expect(denied.status?.phase).toBe('Denied');
    expect(denied.status?.message).toContain('does not allow manual requests');
    expect(await h.images('e2e-manual-no')).toEqual(['ghcr.io/acme/web:1.0.0']);
    await h.scenario('e2e-manual-yes');
    await h.manual('e2e-manual-yes', 'by-hand');
    expect((await h.waitFor('e2e-manual-yes', 'by-hand', ['Denied', 'Succeeded'])).status?.phase).toBe(
      'Succeeded',
    );
  });

  test('forged GitHub identity: no attestation, or one made for another request, is Denied', async () => {
    await h.scenario('e2e-forged');
    const github = {
      issuer: 'https://token.actions.githubusercontent.com',
      repository: 'acme/web',
      repositoryId: '100000001',
      repositoryOwner: 'acme',
      repositoryOwnerId: '100000000',
    };
    await h.manual('e2e-forged', 'no-attestation', { source: { type: 'github-oidc', github } });
    const first = await h.waitFor('e2e-forged', 'no-attestation', ['Denied', 'Succeeded']);
    expect(first.status?.phase).toBe('Denied');
    expect(first.status?.message).toContain('request has no attestation');
    // Copy a genuine attestation from a request the receiver made onto a hand-made one.
    const real = await h.dispatch('e2e-forged', { target: 'web', image: 'ghcr.io/acme/web:1.2.0' });
    const genuine = await h.kube.get<Request>(
      RESOURCE_TYPES.deployRequests,
      'e2e-forged',
      String(real.body.name),
    );
    await h.manual('e2e-forged', 'stolen-attestation', {
      ...genuine?.spec,
      images: [{ container: 'web', image: 'ghcr.io/acme/web:6.6.6' }],
    });
    const stolen = await h.waitFor('e2e-forged', 'stolen-attestation', ['Denied', 'Succeeded']);
    expect(stolen.status?.phase).toBe('Denied');
    expect(stolen.status?.message).toMatch(/attestation was made for another request|spec was changed/);
  });

  test.each([
    ['Target', { target: { kind: 'Deployment' as const, name: 'api' } }, 'does not govern Deployment "api"'],
    ['Container', { images: [{ container: 'sidecar', image: 'ghcr.io/acme/web:2' }] }, 'container "sidecar"'],
    [
      'ImageRepository',
      { images: [{ container: 'web', image: 'docker.io/evil/web:1' }] },
      'does not allow images from docker.io/evil/web',
    ],
  ])('each denial reason is named: %s', async (condition, spec, message) => {
    const namespace = `e2e-deny-${condition.toLowerCase()}`;
    await h.scenario(namespace);
    await h.manual(namespace, 'denied', spec);
    const denied = await h.waitFor(namespace, 'denied', ['Denied', 'Succeeded', 'Failed']);
    expect(denied.status?.phase).toBe('Denied');
    expect(denied.status?.message).toContain(condition);
    expect(denied.status?.message).toContain(message);
  });

  test('approval: waits, then deploys once an approver approves; a rejection by an approver ends it', async () => {
    // On a real cluster alice and bob need RBAC to annotate DeployRequests at all.
    if (h.real) await grantApproverRbac(h.kube);
    await h.scenario('e2e-approval', { approval: { required: true, approvers: ['alice', 'bob'] } });
    await h.manual('e2e-approval', 'gated');
    await h.waitFor('e2e-approval', 'gated', ['WaitingForApproval']);
    // Approvals are written as the approver (the playground's admission policy checks the writer).
    const kubeconfig = h.playground.info.kubeconfig;
    const as = (user: string) => ['-n', 'e2e-approval', '--as', user];
    await kubectlOk(kubeconfig, ['annotate', 'dr', 'gated', 'keyless.dev/approved-by=alice', ...as('alice')]);
    const approved = await h.waitFor('e2e-approval', 'gated', ['Succeeded', 'Failed']);
    expect(approved.status?.approvedBy).toBe('alice');
    await h.manual('e2e-approval', 'rejected', {
      images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }],
    });
    await h.waitFor('e2e-approval', 'rejected', ['WaitingForApproval']);
    await kubectlOk(kubeconfig, ['annotate', 'dr', 'rejected', 'keyless.dev/rejected-by=bob', ...as('bob')]);
    expect((await h.waitFor('e2e-approval', 'rejected', ['Rejected'])).status?.rejectedBy).toBe('bob');
    expect(await h.images('e2e-approval')).toEqual(['ghcr.io/acme/web:2.0.0']);
  });

  test('a closed deploy window holds the request with a condition saying until when', async () => {
    const now = new Date();
    const hour = (now.getUTCHours() + 2) % 24;
    const start = `${String(hour).padStart(2, '0')}:00`;
    const end = `${String((hour + 1) % 24).padStart(2, '0')}:00`;
    await h.scenario('e2e-window', { windows: [{ start, end, timeZone: 'UTC' }] });
    await h.manual('e2e-window', 'later');
    const waiting = await h.waitFor('e2e-window', 'later', ['Waiting']);
    expect(waiting.status?.waitingUntil).toMatch(new RegExp(`T${start}:00Z$`));
    expect(waiting.status?.conditions?.find((c) => c.type === 'Scheduled')).toMatchObject({
      status: 'False',
      reason: 'OutsideDeployWindow',
    });
    expect(await h.images('e2e-window')).toEqual(['ghcr.io/acme/web:1.0.0']);
  });

  test('a failing rollout is rolled back to exactly the previous images', async () => {
    // The Deployment's deadline also bounds the rollback's own rollout, which must finish inside
    // it: 5 s, not 1, so a loaded machine's slower Pod start does not fail the rollback as well.
    await h.scenario('e2e-rollback', {}, { progressDeadlineSeconds: 5 });
    await h.manual('e2e-rollback', 'bad', {
      images: [{ container: 'web', image: 'ghcr.io/acme/web:fail-1' }],
    });
    const done = await h.waitFor('e2e-rollback', 'bad', ['RolledBack', 'Failed', 'Succeeded'], 40_000);
    expect(`${done.status?.phase}: ${done.status?.message}`).toMatch(/^RolledBack: /);
    expect(done.status?.conditions?.find((c) => c.type === 'Deployed')?.reason).toBe(
      'ProgressDeadlineExceeded',
    );
    expect(await h.images('e2e-rollback')).toEqual(['ghcr.io/acme/web:1.0.0']);
  });

  test.each(['StatefulSet', 'DaemonSet'] as const)('a %s rollout is followed to the end', async (kind) => {
    const namespace = `e2e-${kind.toLowerCase()}`;
    await h.scenario(namespace, { targets: [{ kind, name: 'web', containers: ['web'] }] }, { kind });
    await h.manual(namespace, 'roll', { target: { kind, name: 'web' } });
    const done = await h.waitFor(namespace, 'roll', ['Succeeded', 'Failed', 'Denied']);
    expect(`${done.status?.phase}: ${done.status?.message}`).toMatch(/^Succeeded/);
    expect(await h.images(namespace, kind)).toEqual(['ghcr.io/acme/web:2.0.0']);
  });

  test('a CronJob target gets its job template image set', async () => {
    await h.scenario('e2e-cron', {}, { kind: 'CronJob' });
    await h.manual('e2e-cron', 'report', {
      target: { kind: 'CronJob', name: 'report' },
      images: [{ container: 'report', image: 'ghcr.io/acme/report:2.0.0' }],
    });
    expect((await h.waitFor('e2e-cron', 'report', ['Succeeded', 'Failed', 'Denied'])).status?.phase).toBe(
      'Succeeded',
    );
    expect(await h.images('e2e-cron', 'CronJob', 'report')).toEqual(['ghcr.io/acme/report:2.0.0']);
  });
});

describe('one token, one deploy', () => {
  test('the same token sent to a second namespace is denied there (the earliest request wins)', async () => {
    await h.scenario('e2e-token-a');
    await h.scenario('e2e-token-b');
    const token = await h.token();
    const send = async (namespace: string): Promise<string> => {
      const { status, body } = await h.dispatch(
        namespace,
        { target: 'web', image: 'ghcr.io/acme/web:7.0.0' },
        {},
        token,
      );
      expect(status).toBe(202);
      return String(body.name);
    };
    const first = await send('e2e-token-a');
    expect((await h.waitFor('e2e-token-a', first, ['Succeeded', 'Denied'])).status?.phase).toBe('Succeeded');
    const second = await send('e2e-token-b');
    const denied = await h.waitFor('e2e-token-b', second, ['Succeeded', 'Denied']);
    expect(denied.status?.phase).toBe('Denied');
    expect(denied.status?.message).toContain(
      `the same token already created DeployRequest e2e-token-a/${first}`,
    );
    expect(await h.images('e2e-token-b')).toEqual(['ghcr.io/acme/web:1.0.0']);
  });
});
