/**
 * The reporter's crash safety: whatever status write is lost after a GitHub call succeeded (the
 * process died, the API server failed), the next reconcile finds what GitHub already has and neither
 * creates a second deployment nor repeats a status.
 */
import { readFileSync } from 'node:fs';
import { parseAttestationPublicKeys } from '../../src/attestation/attestation-keys.js';
import { DeploymentReporter, needsReport } from '../../src/github/deployment-reporter.js';
import { KubeApiError, type KubeClient } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import { ACME_WEB, appDeployments, startFakeGitHub, type FakeGitHub } from '../support/fake-github.js';

let github: FakeGitHub;
let h: Harness;

beforeAll(async () => {
  github = await startFakeGitHub();
  github.install(ACME_WEB);
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
  await github.close();
});

/** The harness's client, with the `n`-th merge patch of a status failing after nothing was written. */
function losingWrite(kube: KubeClient, n: number): KubeClient {
  let patches = 0;
  return {
    ...kube,
    get: kube.get.bind(kube),
    list: kube.list.bind(kube),
    create: kube.create.bind(kube),
    replace: kube.replace.bind(kube),
    delete: kube.delete.bind(kube),
    watch: kube.watch.bind(kube),
    patch: (...args) => {
      patches += 1;
      if (patches === n)
        return Promise.reject(new KubeApiError('injected: connection reset', 0, 'InternalError'));
      return kube.patch(...args);
    },
  };
}

test.each([1, 2, 3, 4])(
  'status write %i after a GitHub call is lost: one deployment, each state once',
  async (lost) => {
    const namespace = `gh-crash-${lost}`;
    await h.scenario(namespace);
    const controller = await h.controller();
    let request: Request;
    try {
      const { body } = await h.dispatch(namespace, { target: 'web', image: `ghcr.io/acme/web:${lost}.1.0` });
      request = await h.waitFor(namespace, String(body.name), ['Succeeded']);
    } finally {
      await controller.stop();
    }
    expect(needsReport(request)).toBe(true);
    const reporter = new DeploymentReporter({
      kube: losingWrite(h.kube, lost),
      github: appDeployments(github),
      attestationKeys: await parseAttestationPublicKeys(
        readFileSync(h.playground.attestationPublicKeyPath, 'utf8'),
      ),
      policy: () => undefined,
      logger: silentLogger(),
    });
    const key = `${namespace}/${request.metadata.name}`;
    let failures = 0;
    for (let round = 0; round < 5; round++) {
      try {
        await reporter.reconcile(key);
      } catch {
        failures += 1;
      }
    }
    expect(failures).toBe(1);
    const done = await h.kube.get<Request>(
      RESOURCE_TYPES.deployRequests,
      namespace,
      request.metadata.name as string,
    );
    expect(done?.status?.github?.reportedStates).toEqual(['queued', 'in_progress', 'success']);
    expect(needsReport(done as Request)).toBe(false);
    const mine = github
      .deployments()
      .filter(
        (d) =>
          (d.body.payload as { keylessDeploy: { uid: string } }).keylessDeploy.uid === request.metadata.uid,
      );
    expect(mine).toHaveLength(1);
    expect(mine[0]?.statuses.map((s) => s.state)).toEqual(['queued', 'in_progress', 'success']);
  },
);
