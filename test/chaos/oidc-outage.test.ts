/**
 * Chaos 4: the OIDC issuer goes away after the receiver cached its keys. Tokens signed with the
 * cached key are still accepted (an outage must not stop deploys GitHub signed); a token with an
 * unknown key id fails closed (401, nothing created), also once the refresh cooldown has passed and
 * the receiver actually tried the dead issuer; a receiver that never saw the keys answers 503; when
 * the issuer returns (with a new key, on the same address) the receiver fetches it and accepts again.
 */
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from '../../src/playground/oidc-issuer.js';
import type { RunningReceiver } from '../../src/receiver/index.js';
import { startHarness, type Harness, type Request } from '../e2e/harness.js';
import {
  AUDIENCE,
  postDispatch,
  report,
  startChaosReceiver,
  waitTerminal,
  WEB_CLAIMS,
} from './chaos-support.js';

const NAMESPACE = 'oidc-outage';

let h: Harness;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  h = await startHarness();
  await h.scenario(NAMESPACE);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await h.close();
});

test('OIDC issuer unreachable: cached key accepted, unknown kid fails closed, recovery when the issuer returns', async () => {
  const started = Date.now();
  let issuer: LocalOidcIssuer = await startLocalOidcIssuer({ defaultAudience: AUDIENCE });
  const issuerUrl = issuer.issuer;
  const port = Number(new URL(issuerUrl).port);
  // The receivers' clock: real time plus what the test has skipped (the 1 s key refresh cooldown
  // passes by moving this clock, not by sleeping).
  let skippedMs = 0;
  const clock = (): Date => new Date(Date.now() + skippedMs);
  const passCooldown = (): void => void (skippedMs += 1100);
  const receiver: RunningReceiver = await startChaosReceiver(h, issuerUrl, { clock });
  cleanups.push(() => receiver.close());
  const controller = await h.controller();
  const outcomes: Record<string, number> = {};
  const accepted: string[] = [];
  let tag = 0;
  const dispatch = async (token: string): Promise<number> => {
    const answer = await postDispatch(receiver.url, token, {
      namespace: NAMESPACE,
      target: 'web',
      image: `ghcr.io/acme/web:7.${tag++}.0`,
    });
    outcomes[answer.status] = (outcomes[answer.status] ?? 0) + 1;
    if (answer.status === 202) accepted.push(String(answer.body.name));
    return answer.status;
  };
  const mint = (from: LocalOidcIssuer, kid?: string): Promise<string> =>
    from.mint(WEB_CLAIMS, { audience: AUDIENCE, ...(kid ? { kid } : {}) });
  const requestCount = async (): Promise<number> =>
    (await h.kube.list<Request>(RESOURCE_TYPES.deployRequests, NAMESPACE)).items.length;

  // The receiver fetched the keys at start-up (warm-up); a dispatch works.
  expect(await dispatch(await mint(issuer))).toBe(202);
  const issuerRequestsBefore = issuer.requestCount();
  expect(issuerRequestsBefore).toBeGreaterThan(0);

  // Outage 1: the issuer answers 503. Outage 2: nothing listens any more (connection refused).
  const phases: Array<{ outage: string; cachedKey: number; unknownKid: number[]; created: number }> = [];
  let triedDuring503 = 0;
  for (const outage of ['issuer answers 503', 'issuer process gone']) {
    if (outage === 'issuer answers 503') issuer.setAvailable(false);
    else {
      triedDuring503 = issuer.requestCount() - issuerRequestsBefore;
      await issuer.close();
    }
    const before = await requestCount();
    const cachedKey = await dispatch(await mint(issuer));
    // Unknown kid: once at once, once after the 1 s refresh cooldown (a refresh is really tried).
    const unknownKid = [await dispatch(await mint(issuer, 'rotated-key-1'))];
    passCooldown();
    unknownKid.push(await dispatch(await mint(issuer, 'rotated-key-2')));
    // And the cached key still works after that failed refresh.
    expect(await dispatch(await mint(issuer))).toBe(202);
    const created = (await requestCount()) - before;
    phases.push({ outage, cachedKey, unknownKid, created });
    expect(`${outage}: cached key ${cachedKey}`).toBe(`${outage}: cached key 202`);
    expect(`${outage}: unknown kid ${unknownKid.join(',')}`).toBe(`${outage}: unknown kid 401,401`);
    // Exactly the two cached-key dispatches created requests; the unknown-kid ones nothing.
    expect(`${outage}: created ${created}`).toBe(`${outage}: created 2`);
  }
  // During the 503 outage the receiver did try to refresh (and kept its cached key).
  expect(triedDuring503).toBeGreaterThan(0);

  // A receiver that never saw the keys has nothing to verify with: 503, nothing created.
  const cold = await startChaosReceiver(h, issuerUrl, { clock });
  cleanups.push(() => cold.close());
  const beforeCold = await requestCount();
  const coldAnswer = await postDispatch(cold.url, await mint(issuer), {
    namespace: NAMESPACE,
    target: 'web',
    image: 'ghcr.io/acme/web:8.0.0',
  });
  expect(coldAnswer.status).toBe(503);
  expect(await requestCount()).toBe(beforeCold);

  // The issuer returns on the same address, with a new signing key (a rotation during the outage).
  const oldIssuer = issuer;
  issuer = await startLocalOidcIssuer({ port, defaultAudience: AUDIENCE });
  cleanups.push(() => issuer.close());
  expect(issuer.issuer).toBe(issuerUrl);
  expect(issuer.kid).not.toBe(oldIssuer.kid);
  passCooldown(); // past the refresh cooldown of the last failed attempt
  const recovered = await dispatch(await mint(issuer));
  expect(recovered).toBe(202);
  expect(issuer.requestCount()).toBeGreaterThan(0);
  // Last (the receiver's millisecond requestedAt makes it the newest): it must win.
  const coldRecovered = await postDispatch(cold.url, await mint(issuer), {
    namespace: NAMESPACE,
    target: 'web',
    image: 'ghcr.io/acme/web:8.1.0',
  });
  expect(coldRecovered.status).toBe(202);
  accepted.push(String(coldRecovered.body.name));

  // Every accepted request is a genuine one: the controller deploys the last of them.
  for (const name of accepted)
    expect(['Succeeded', 'Superseded']).toContain(
      (await waitTerminal(h.kube, NAMESPACE, name, 20_000)).status?.phase,
    );
  expect(
    (await waitTerminal(h.kube, NAMESPACE, accepted[accepted.length - 1] as string, 20_000)).status?.phase,
  ).toBe('Succeeded');
  expect(await h.images(NAMESPACE)).toEqual(['ghcr.io/acme/web:8.1.0']);
  expect(await requestCount()).toBe(accepted.length);
  await controller.stop();
  report({
    scenario: 'oidc-outage',
    requests: Object.values(outcomes).reduce((a, b) => a + b, 0) + 2,
    answersByStatus: outcomes,
    phases,
    coldReceiver: { duringOutage: coldAnswer.status, afterRecovery: coldRecovered.status },
    issuerRequests: {
      beforeOutage: issuerRequestsBefore,
      during503Outage: triedDuring503,
      afterReturn: issuer.requestCount(),
    },
    accepted: accepted.length,
    restarts: 0,
    ms: Date.now() - started,
  });
}, 60_000);
