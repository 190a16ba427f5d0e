/**
 * What the controller trusts of a DeployRequest (issue 13, findings 2, 6 and 7), one reconcile at
 * a time against the embedded API server, with really signed attestations:
 * - a saved attested request created again (after deletion, or later than the freshness window)
 *   does not deploy, and says why;
 * - a manual request's user-written `requestedAt` does not order it before later deploys;
 * - a forged decoy with a token's hash and id does not make the real request TokenReused.
 */
import type { DeployRequest, DeployRequestSpec } from '../../src/api/types.js';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import {
  generateAttestationKeyPair,
  parseAttestationPrivateKey,
  parseAttestationPublicKeys,
  signAttestation,
  type AttestationPublicKey,
  type AttestationSigningKey,
} from '../../src/attestation/index.js';
import { DeployRequestReconciler } from '../../src/controller/deploy-request-reconciler.js';
import { claimName } from '../../src/controller/replay-guard.js';
import { foreignStatusWriters } from '../../src/controller/status-writers.js';
import type { KubeClient, KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { installCrds } from '../../src/playground/playground.js';
import type { EventRecorder } from '../../src/runtime/event-recorder.js';

type Request = DeployRequest & KubeObject;

const CLAIMS = 'keyless-claims';
let server: EmbeddedApiServer;
let store: KubeClient;
let signing: AttestationSigningKey;
let keys: AttestationPublicKey[];
let namespaces = 0;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  store = server.kubeClient();
  await installCrds(store);
  await store.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: CLAIMS },
  });
  const pair = await generateAttestationKeyPair();
  signing = await parseAttestationPrivateKey(pair.privateKeyPem);
  keys = await parseAttestationPublicKeys(pair.publicKeyPem);
});

afterAll(async () => {
  await server.close();
});

const GITHUB = {
  issuer: 'https://token.actions.githubusercontent.com',
  repository: 'acme/web',
  repositoryId: '1',
  repositoryOwner: 'acme',
  repositoryOwnerId: '2',
  ref: 'refs/heads/main',
  sha: 'a'.repeat(40),
  runId: '7',
};

/** A namespace with a policy admitting acme/web's workflows and manual requests, a Deployment `web`, a reconciler. */
async function fixture() {
  const namespace = `trust-${++namespaces}`;
  await store.create(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  await store.create(RESOURCE_TYPES.deployPolicies, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployPolicy',
    metadata: { name: 'policy', namespace },
    spec: {
      subjects: [{ repositoryId: '1' }],
      allowManual: true,
      targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
      images: { repositories: ['ghcr.io/acme/web'] },
    },
  });
  await store.create(RESOURCE_TYPES.deployments, {
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
  const events: Array<{ object: string; type: string; reason: string; message: string }> = [];
  const recorder: EventRecorder = {
    async record(object, type, reason, message) {
      events.push({ object: object.metadata.name ?? '', type, reason, message });
    },
  };
  const reconciler = new DeployRequestReconciler({
    kube: store,
    attestationKeys: keys,
    events: recorder,
    logger: silentLogger(),
    pollMs: 1000,
    claimNamespace: CLAIMS,
  });
  const get = async (name: string, ns = namespace): Promise<Request> =>
    (await store.get<Request>(RESOURCE_TYPES.deployRequests, ns, name)) as Request;
  return {
    namespace,
    events,
    get,
    reconcile: (name: string, ns = namespace) => reconciler.reconcile(`${ns}/${name}`),
    /** The object the receiver would create: attested (issued at `issuedAt`), labelled with the token hash. */
    async attested(
      name: string,
      options: { image?: string; tokenId?: string; issuedAt?: Date; ns?: string } = {},
    ): Promise<Request> {
      const ns = options.ns ?? namespace;
      const issuedAt = options.issuedAt ?? new Date();
      const spec: DeployRequestSpec = {
        target: { kind: 'Deployment', name: 'web' },
        images: [{ container: 'web', image: options.image ?? 'ghcr.io/acme/web:2.0.0' }],
        requestedAt: issuedAt.toISOString(),
        source: { type: 'github-oidc', github: { ...GITHUB, tokenId: options.tokenId ?? name } },
      };
      spec.source.attestation = await signAttestation({ namespace: ns, name, spec }, signing, issuedAt);
      return {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployRequest',
        metadata: {
          name,
          namespace: ns,
          labels: { 'keyless.dev/token-hash': `h-${options.tokenId ?? name}` },
        },
        spec,
      };
    },
    create: (request: Request) => store.create<Request>(RESOURCE_TYPES.deployRequests, request),
    async manual(name: string, spec: Partial<DeployRequestSpec> = {}): Promise<Request> {
      return store.create<Request>(RESOURCE_TYPES.deployRequests, {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployRequest',
        metadata: { name, namespace },
        spec: {
          target: { kind: 'Deployment', name: 'web' },
          images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }],
          source: { type: 'kubernetes' },
          ...spec,
        },
      });
    },
    /** The Deployment reports every replica on the template at its current generation. */
    async rolledOut(): Promise<void> {
      const workload = (await store.get<KubeObject>(
        RESOURCE_TYPES.deployments,
        namespace,
        'web',
      )) as KubeObject;
      const generation = workload.metadata.generation ?? 1;
      await store.replace(
        RESOURCE_TYPES.deployments,
        {
          ...workload,
          status: {
            observedGeneration: generation,
            replicas: 1,
            updatedReplicas: 1,
            readyReplicas: 1,
            availableReplicas: 1,
          },
        },
        { subresource: 'status' },
      );
    },
    async image(): Promise<string> {
      const workload = (await store.get<KubeObject>(
        RESOURCE_TYPES.deployments,
        namespace,
        'web',
      )) as KubeObject;
      const spec = workload.spec as { template: { spec: { containers: Array<{ image: string }> } } };
      return spec.template.spec.containers[0]?.image ?? '';
    },
  };
}

const condition = (request: Request, type: string) =>
  request.status?.conditions?.find((candidate) => candidate.type === type);

describe('a saved attested request created again does not deploy (finding 2)', () => {
  test('deleted and created again within the freshness window: Denied AttestationReplayed, the workload untouched', async () => {
    const f = await fixture();
    const saved = await f.attested('web-abc');
    await f.create(saved);
    await f.reconcile('web-abc');
    expect((await f.get('web-abc')).status?.phase).toBe('Deploying');
    const claim = await store.get<KubeObject & { spec: { holderIdentity: string } }>(
      RESOURCE_TYPES.leases,
      CLAIMS,
      claimName(f.namespace, 'web-abc'),
    );
    expect(claim?.spec.holderIdentity).toBe((await f.get('web-abc')).metadata.uid);
    await f.rolledOut();
    await f.reconcile('web-abc');
    expect((await f.get('web-abc')).status?.phase).toBe('Succeeded');
    // A later deploy moves the workload on; then the old request is deleted (as history does).
    await f.manual('later', { images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }] });
    await f.reconcile('later');
    await f.rolledOut();
    await f.reconcile('later');
    expect(await f.image()).toBe('ghcr.io/acme/web:3.0.0');
    await store.delete(RESOURCE_TYPES.deployRequests, f.namespace, 'web-abc');

    await f.create(saved);
    await f.reconcile('web-abc');
    const replayed = await f.get('web-abc');
    expect(replayed.status?.phase).toBe('Denied');
    expect(condition(replayed, 'Authorized')).toMatchObject({
      status: 'False',
      reason: 'AttestationReplayed',
    });
    expect(condition(replayed, 'Authorized')?.message).toContain(`${f.namespace}/web-abc was already used`);
    expect(f.events.filter((e) => e.object === 'web-abc').at(-1)).toMatchObject({
      type: 'Warning',
      reason: 'AttestationReplayed',
    });
    expect(await f.image()).toBe('ghcr.io/acme/web:3.0.0');
  });

  test('created later than the freshness window (as after its claim was collected): Denied AttestationExpired', async () => {
    const f = await fixture();
    const saved = await f.attested('old-req', { issuedAt: new Date(Date.now() - 10 * 60_000) });
    await f.create(saved);
    await f.reconcile('old-req');
    const stale = await f.get('old-req');
    expect(stale.status?.phase).toBe('Denied');
    expect(condition(stale, 'Authorized')).toMatchObject({ reason: 'AttestationExpired' });
    expect(condition(stale, 'Authorized')?.message).toMatch(
      /issued at .*, 6\d\ds before the request was created/,
    );
    expect(await f.image()).toBe('ghcr.io/acme/web:1.0.0');
  });

  test('an attestation issued just before creation deploys, and stays valid however long it then waits', async () => {
    const f = await fixture();
    await f.create(await f.attested('fresh', { issuedAt: new Date(Date.now() - 60_000) }));
    await f.reconcile('fresh');
    expect((await f.get('fresh')).status?.phase).toBe('Deploying');
    expect(condition(await f.get('fresh'), 'Authorized')).toMatchObject({ status: 'True' });
  });
});

describe('manual requests are ordered by what the API server observed (finding 6)', () => {
  test('a manual request dated in the future does not supersede a later attested deploy', async () => {
    const f = await fixture();
    await f.manual('future', { requestedAt: '2099-01-01T00:00:00.000Z' });
    await f.reconcile('future');
    await f.rolledOut();
    await f.reconcile('future');
    expect((await f.get('future')).status?.phase).toBe('Succeeded');
    await f.create(await f.attested('ci-deploy', { image: 'ghcr.io/acme/web:4.0.0' }));
    await f.reconcile('ci-deploy');
    const ci = await f.get('ci-deploy');
    expect(ci.status?.phase).toBe('Deploying');
    expect(ci.status?.supersededBy).toBeUndefined();
    expect(await f.image()).toBe('ghcr.io/acme/web:4.0.0');
  });
});

describe('the token-reuse check counts only requests whose attestation verifies (finding 7)', () => {
  test('a forged decoy with the same token hash and id, created first elsewhere, does not deny the real request', async () => {
    const f = await fixture();
    const decoyNamespace = (await fixture()).namespace;
    const real = await f.attested('real', { tokenId: 'shared-jti' });
    // The decoy copies the real request's labels, identity and attestation into another namespace.
    await f.create({ ...real, metadata: { ...real.metadata, namespace: decoyNamespace, name: 'decoy' } });
    // The controller sees the decoy first and denies it (its attestation names another request).
    await f.reconcile('decoy', decoyNamespace);
    expect(condition(await f.get('decoy', decoyNamespace), 'Authorized')).toMatchObject({
      reason: 'AttestationInvalid',
    });
    await f.create(real);
    await f.reconcile('real');
    const after = await f.get('real');
    expect(condition(after, 'Authorized')).toMatchObject({ status: 'True' });
    expect(after.status?.phase).toBe('Deploying');
  });

  test('a genuine earlier request of the same token still wins', async () => {
    const f = await fixture();
    const other = (await fixture()).namespace;
    await f.create(await f.attested('first', { tokenId: 'jti-2', ns: other }));
    await f.reconcile('first', other);
    await f.create(await f.attested('second', { tokenId: 'jti-2' }));
    await f.reconcile('second');
    const second = await f.get('second');
    expect(second.status?.phase).toBe('Denied');
    expect(condition(second, 'Authorized')).toMatchObject({ reason: 'TokenReused' });
  });
});

describe('a status the controller did not write is not acted on (finding 8)', () => {
  /** A holder deploying and a second request Queued behind it. */
  async function queuedBehindHolder() {
    const f = await fixture();
    await f.manual('req-1-holder', { images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }] });
    await f.reconcile('req-1-holder');
    await f.manual('req-2-queued', { images: [{ container: 'web', image: 'ghcr.io/acme/web:3.0.0' }] });
    await f.reconcile('req-2-queued');
    expect((await f.get('req-2-queued')).status?.phase).toBe('Queued');
    return f;
  }

  /** Write `req-2-queued`'s status as `manager`: RollingBack to a chosen image. */
  async function forge(f: Awaited<ReturnType<typeof fixture>>, manager: string): Promise<void> {
    const request = await f.get('req-2-queued');
    await store.replace(
      RESOURCE_TYPES.deployRequests,
      {
        ...request,
        status: {
          ...request.status,
          phase: 'RollingBack',
          previousImages: [{ container: 'web', image: 'ghcr.io/acme/web:0.1.0-vulnerable' }],
        },
      },
      { subresource: 'status', fieldManager: manager },
    );
  }

  test('RollingBack with chosen previousImages written by a user: cleared, authorised again, the image never set', async () => {
    const f = await queuedBehindHolder();
    await forge(f, 'kubectl-patch');
    expect((await f.get('req-2-queued')).metadata.managedFields).toContainEqual(
      expect.objectContaining({ manager: 'kubectl-patch', operation: 'Update', subresource: 'status' }),
    );
    await f.reconcile('req-2-queued');
    const after = await f.get('req-2-queued');
    expect(await f.image()).toBe('ghcr.io/acme/web:2.0.0');
    expect(after.status?.phase).toBe('Queued');
    expect(after.status?.previousImages).toBeUndefined();
    expect(f.events.filter((e) => e.object === 'req-2-queued' && e.reason === 'StatusNotTrusted')).toEqual([
      expect.objectContaining({
        type: 'Warning',
        message: expect.stringContaining('written by kubectl-patch, not by keyless-deploy-controller'),
      }),
    ]);
    // The clearing write took the status back: the next reconcile trusts it.
    expect(
      after.metadata.managedFields?.filter((entry) => entry.subresource === 'status').map((e) => e.manager),
    ).toEqual(['keyless-deploy-controller']);
    await f.reconcile('req-2-queued');
    expect(f.events.filter((e) => e.reason === 'StatusNotTrusted')).toHaveLength(1);
  });

  test("the same forgery under the controller's own manager name: the rollback restores only what the workload records, here nothing", async () => {
    const f = await queuedBehindHolder();
    await forge(f, 'keyless-deploy-controller');
    await f.reconcile('req-2-queued');
    const after = await f.get('req-2-queued');
    expect(await f.image()).toBe('ghcr.io/acme/web:2.0.0');
    expect(after.status?.phase).toBe('Failed');
    expect(condition(after, 'RolledBack')).toMatchObject({ reason: 'RollbackNotRecorded' });
  });

  test('a genuine failed rollout rolls back to the images recorded on the workload, not to status.previousImages', async () => {
    const f = await fixture();
    await f.manual('roll', { images: [{ container: 'web', image: 'ghcr.io/acme/web:2.0.0' }] });
    await f.reconcile('roll');
    const workload = (await store.get<KubeObject>(
      RESOURCE_TYPES.deployments,
      f.namespace,
      'web',
    )) as KubeObject;
    expect(JSON.parse(workload.metadata.annotations?.['keyless.dev/previous-images'] ?? '')).toEqual([
      { container: 'web', image: 'ghcr.io/acme/web:1.0.0' },
    ]);
    // The rollout fails (progress deadline), and someone changes previousImages in status meanwhile.
    await store.replace(
      RESOURCE_TYPES.deployments,
      {
        ...workload,
        status: {
          observedGeneration: workload.metadata.generation,
          replicas: 1,
          updatedReplicas: 0,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'too slow.',
            },
          ],
        },
      },
      { subresource: 'status' },
    );
    const request = await f.get('roll');
    await store.replace(
      RESOURCE_TYPES.deployRequests,
      {
        ...request,
        status: {
          ...request.status,
          previousImages: [{ container: 'web', image: 'ghcr.io/acme/web:0.1.0-vulnerable' }],
        },
      },
      { subresource: 'status', fieldManager: 'keyless-deploy-controller' },
    );
    await f.reconcile('roll');
    expect((await f.get('roll')).status?.phase).toBe('RollingBack');
    expect(await f.image()).toBe('ghcr.io/acme/web:1.0.0');
  });

  test('who wrote the status: only fields the status still has count (kube-apiserver may keep gone ones listed), map-list items by key', () => {
    const entry = (manager: string, fields: Record<string, unknown>) => ({
      manager,
      operation: 'Update',
      subresource: 'status',
      fieldsV1: { 'f:status': fields },
    });
    const object = (managedFields: Array<Record<string, unknown>>, status: Record<string, unknown>) => ({
      metadata: { managedFields },
      status,
    });
    const trusted = ['keyless-deploy-controller', 'keyless-deploy-github'];
    const status = {
      phase: 'Queued',
      conditions: [{ type: 'Ready', status: 'False' }],
      github: { reportedStates: [] },
    };
    expect(
      foreignStatusWriters(object([entry('kubectl-patch', { 'f:previousImages': {} })], status), trusted),
    ).toEqual([]);
    expect(
      foreignStatusWriters(
        object(
          [entry('kubectl-patch', { 'f:conditions': { 'k:{"type":"Stale"}': { 'f:status': {} } } })],
          status,
        ),
        trusted,
      ),
    ).toEqual([]);
    expect(
      foreignStatusWriters(
        object([entry('kubectl-patch', { 'f:github': { 'f:reportedStates': {} } })], status),
        trusted,
      ),
    ).toEqual([]);
    expect(
      foreignStatusWriters(object([entry('keyless-deploy-controller', { 'f:phase': {} })], status), trusted),
    ).toEqual([]);
    expect(
      foreignStatusWriters(object([entry('kubectl-patch', { '.': {}, 'f:phase': {} })], status), trusted),
    ).toEqual(['kubectl-patch']);
    expect(
      foreignStatusWriters(
        object([entry('mallory', { 'f:conditions': { 'k:{"type":"Ready"}': { 'f:status': {} } } })], status),
        trusted,
      ),
    ).toEqual(['mallory']);
  });
});
