/**
 * The local playground: the embedded API server with the CRDs installed and a demo workload and
 * policy, a local OIDC issuer that signs GitHub-shaped tokens, and the receiver trusting it, all on
 * loopback, with no cluster and no GitHub. It writes `STATE_DIR/kubeconfig` and, once everything
 * is ready, `STATE_DIR/playground.json` describing how to use it.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { EmbeddedApiServer } from '../apiserver/embedded-api-server.js';
import { generateAttestationKeyPair } from '../attestation/index.js';
import { parseAttestationPublicKeys } from '../attestation/attestation-keys.js';
import { startController, type RunningController } from '../controller/controller-manager.js';
import { gitHubReporting, gitHubWebhooks } from '../github/github-reporting.js';
import type { GitHubSettings } from '../github/github-settings.js';
import { createClientNodeKubeClient } from '../kube/client-node-kube-client.js';
import { loadKubeConfig } from '../kube/load-kube-config.js';
import { isKubeError, type KubeClient, type KubeObject } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';
import {
  differenceFromShipped,
  evaluatePolicies,
  parseImageReference,
  shippedApprovalAdmission,
  type AdmissionObject,
} from '../policy/index.js';
import {
  loadReceiverConfig,
  receiverDepsFromConfig,
  startReceiver,
  type RunningReceiver,
} from '../receiver/index.js';
import { startControlServer, type ControlServer } from './control-server.js';
import { DEMO, demoClaims, demoDeployment, demoNamespace, demoPolicy } from './demo-objects.js';
import { startLocalOidcIssuer, type LocalOidcIssuer } from './oidc-issuer.js';
import {
  startPlaygroundCluster,
  type ControlPlaneChoice,
  type PlaygroundCluster,
} from './playground-cluster.js';
import { lockStateDir } from './state-dir-lock.js';

/** The audience playground tokens carry and its receiver requires. */
export const PLAYGROUND_AUDIENCE = 'keyless-deploy-playground';

/** Where the CRDs are, from src/playground or dist/playground alike. */
export const CRDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'crds');

export interface PlaygroundOptions {
  stateDir: string;
  /** Create the demo namespace, Deployment and DeployPolicy. Default true. */
  demo?: boolean;
  /** The API server: embedded (default), the local real control plane, or an existing cluster. */
  controlPlane?: ControlPlaneChoice;
  /** Embedded API server port; 0 (any) by default. */
  apiServerPort?: number;
  receiverPort?: number;
  /** More issuers the receiver trusts (e.g. a real GitHub issuer). */
  trustIssuers?: string[];
  /** Time between simulated replica steps. Default 250 ms. */
  rolloutStepMs?: number;
  /** Run the controller. Default true (tests that drive their own controller turn it off). */
  controller?: boolean;
  /** The receiver's per-repository dispatch limit; 0 disables it (load tests). Default 30. */
  rateLimitPerMinute?: number;
  /** GitHub App settings (`KEYLESS_GITHUB_*`): report to that GitHub API, accept its webhooks. */
  github?: GitHubSettings;
  logger: Logger;
}

/** What playground.json says. */
export interface PlaygroundInfo {
  /** `embedded`, `real` (local kube-apiserver and controllers) or `external` (a given kubeconfig). */
  controlPlane: PlaygroundCluster['kind'];
  apiServer: string;
  kubeconfig: string;
  receiver: string;
  issuer: string;
  audience: string;
  control: string;
  demo?: {
    namespace: string;
    deployment: string;
    container: string;
    /** An image the demo policy allows, other than the one the Deployment starts with. */
    imageToDeploy: string;
    claims: Record<string, string>;
  };
}

export interface Playground {
  info: PlaygroundInfo;
  /** The API server the playground runs on. */
  cluster: PlaygroundCluster;
  /** The embedded API server (fault injection); throws for the other control planes. */
  readonly apiServer: EmbeddedApiServer;
  issuer: LocalOidcIssuer;
  receiver: RunningReceiver;
  controller?: RunningController;
  /** A KubeClient over HTTP to the playground's API server (what the receiver and controller use). */
  kube: KubeClient;
  /** Path of the receiver's attestation public key (what a controller verifies with). */
  attestationPublicKeyPath: string;
  /** Stop everything; removes playground.json, keeps the data. */
  stop(): Promise<void>;
}

async function ensure(
  kube: KubeClient,
  type: (typeof RESOURCE_TYPES)[keyof typeof RESOURCE_TYPES],
  object: KubeObject,
): Promise<boolean> {
  try {
    await kube.create(type, object);
    return true;
  } catch (error) {
    if (!isKubeError(error, 409)) throw error;
    return false;
  }
}

/**
 * Install (or update) every CRD in a directory and wait until the API server serves them
 * (`Established`). Several installers at once (parallel test workers on one cluster) are fine: a
 * lost race to create or update is retried on the fresh object.
 */
export async function installCrds(kube: KubeClient, directory = CRDS_DIR): Promise<string[]> {
  const names: string[] = [];
  const type = RESOURCE_TYPES.customResourceDefinitions;
  for (const file of readdirSync(directory)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    const crd = parseYaml(readFileSync(join(directory, file), 'utf8')) as KubeObject;
    const name = crd.metadata.name ?? file;
    for (let attempt = 0; ; attempt++) {
      try {
        const existing = await kube.get(type, undefined, name);
        if (existing)
          await kube.replace(type, {
            ...crd,
            metadata: { ...crd.metadata, resourceVersion: existing.metadata.resourceVersion },
          });
        else await kube.create(type, crd);
        break;
      } catch (error) {
        if (!isKubeError(error, 409) || attempt >= 5) throw error;
      }
    }
    names.push(name);
  }
  for (const name of names) await waitEstablished(kube, name);
  return names;
}

/**
 * Install (or bring back to what is shipped) the ValidatingAdmissionPolicy and binding that tie
 * approvals to the users who write them, as the chart does in a cluster.
 */
export async function installApprovalAdmission(kube: KubeClient): Promise<void> {
  const shipped = shippedApprovalAdmission();
  for (const [type, which] of [
    [RESOURCE_TYPES.validatingAdmissionPolicies, 'policy'],
    [RESOURCE_TYPES.validatingAdmissionPolicyBindings, 'binding'],
  ] as const) {
    const object = shipped[which];
    const existing = await kube.get<KubeObject & AdmissionObject>(
      type,
      undefined,
      object.metadata.name ?? '',
    );
    if (!existing) await kube.create(type, object as KubeObject);
    // Changed only when it differs; its metadata stays (a Helm release may own it in a cluster).
    else if (differenceFromShipped(which, existing))
      await kube.replace(type, { ...existing, spec: object.spec });
  }
}

/** Wait (up to 30 s) until a CRD's `Established` condition is True: only then are its objects served. */
async function waitEstablished(kube: KubeClient, name: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const crd = await kube.get(RESOURCE_TYPES.customResourceDefinitions, undefined, name);
    const conditions = (crd?.status as { conditions?: Array<{ type: string; status: string }> } | undefined)
      ?.conditions;
    if (conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    if (Date.now() > deadline)
      throw new Error(`CustomResourceDefinition ${name} is not Established after 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function writePrivate(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Start the playground. */
export async function startPlayground(options: PlaygroundOptions): Promise<Playground> {
  const { logger } = options;
  const stateDir = resolve(options.stateDir);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Before anything is written: a second playground on this dir stops here, naming the first.
  const lock = lockStateDir(stateDir);
  const infoPath = join(stateDir, 'playground.json');
  rmSync(infoPath, { force: true });

  const cleanups: Array<() => Promise<void>> = [async () => lock.release()];
  try {
    const cluster = await startPlaygroundCluster({
      choice: options.controlPlane ?? 'embedded',
      stateDir,
      logger,
      apiServerPort: options.apiServerPort,
      rolloutStepMs: options.rolloutStepMs,
    });
    cleanups.unshift(() => cluster.close());
    const kube = cluster.kube;
    const crds = await installCrds(kube);
    logger.info({ crds }, 'CRDs installed');
    await installApprovalAdmission(kube);
    if (options.demo !== false) {
      const created = [
        await ensure(kube, RESOURCE_TYPES.namespaces, demoNamespace()),
        await ensure(kube, RESOURCE_TYPES.deployments, demoDeployment()),
        await ensure(kube, RESOURCE_TYPES.deployPolicies, demoPolicy()),
      ];
      // Objects kept from an earlier run (DIR/data) are left as they are: they may have been edited.
      logger.info(
        { namespace: DEMO.namespace, deployment: DEMO.deployment, policy: DEMO.deployment },
        created.every(Boolean) ? 'demo created' : created.some(Boolean) ? 'demo completed' : 'demo kept',
      );
    }
    const kubeconfigPath = join(stateDir, 'kubeconfig');
    writePrivate(kubeconfigPath, cluster.kubeconfig);

    const issuer = await startLocalOidcIssuer({ defaultAudience: PLAYGROUND_AUDIENCE });
    cleanups.unshift(() => issuer.close());

    const keyPath = join(stateDir, 'attestation-key.pem');
    const publicKeyPath = join(stateDir, 'attestation-public-key.pem');
    if (!existsSync(keyPath)) {
      const pair = await generateAttestationKeyPair();
      writePrivate(keyPath, pair.privateKeyPem);
      writeFileSync(publicKeyPath, pair.publicKeyPem);
    }
    const receiverConfig = loadReceiverConfig(
      {},
      {
        listen: `127.0.0.1:${options.receiverPort ?? 0}`,
        'oidc-issuers': [issuer.issuer, ...(options.trustIssuers ?? [])].join(','),
        'oidc-audience': PLAYGROUND_AUDIENCE,
        'allow-insecure-issuer': 'true',
        'attestation-key-file': keyPath,
        ...(options.rateLimitPerMinute !== undefined
          ? { 'rate-limit-per-minute': String(options.rateLimitPerMinute) }
          : {}),
      },
    );
    // Receiver and controller reach the API server over HTTP through client-node, as in a cluster.
    const httpKube = createClientNodeKubeClient(loadKubeConfig({ kubeconfigYaml: cluster.kubeconfig }));
    const receiverLogger = logger.child({ component: 'receiver' });
    const deps = await receiverDepsFromConfig(receiverConfig, {
      kube: httpKube,
      logger: receiverLogger,
      evaluatePolicies,
      parseImageReference,
    });
    const receiver = await startReceiver(
      { listen: receiverConfig.listen },
      // Status long polls look four times a second: the playground's rollouts take seconds.
      { ...deps, pollIntervalMs: 250, github: gitHubWebhooks(options.github) },
    );
    cleanups.unshift(() => receiver.close());

    let controller: RunningController | undefined;
    if (options.controller !== false) {
      controller = await startController({
        kube: httpKube,
        attestationKeys: await parseAttestationPublicKeys(readFileSync(publicKeyPath, 'utf8')),
        logger: logger.child({ component: 'controller' }),
        pollMs: 250,
        history: { ttlMs: 24 * 3600_000, limitPerWorkload: 20 },
        github: gitHubReporting(options.github),
        // The embedded API server enforces an admission policy from the write that creates it;
        // a real one a moment later (the controller's default).
        ...(cluster.kind === 'embedded' ? { approvalAdmissionSettleSeconds: 0 } : {}),
      });
      cleanups.unshift(() => (controller as RunningController).stop());
    }

    const secret = randomBytes(32).toString('hex');
    writePrivate(join(stateDir, 'control-secret'), secret);
    const control: ControlServer = await startControlServer(secret, (claims) =>
      issuer.mint(claims, { audience: PLAYGROUND_AUDIENCE }),
    );
    cleanups.unshift(() => control.close());

    const info: PlaygroundInfo = {
      controlPlane: cluster.kind,
      apiServer: cluster.url,
      kubeconfig: kubeconfigPath,
      receiver: receiver.url,
      issuer: issuer.issuer,
      audience: PLAYGROUND_AUDIENCE,
      control: control.url,
      ...(options.demo !== false
        ? {
            demo: {
              namespace: DEMO.namespace,
              deployment: DEMO.deployment,
              container: DEMO.container,
              imageToDeploy: DEMO.nextImage,
              claims: demoClaims(),
            },
          }
        : {}),
    };
    writeFileSync(infoPath, `${JSON.stringify(info, null, 2)}\n`);
    let stopped: Promise<void> | undefined;
    return {
      info,
      cluster,
      get apiServer(): EmbeddedApiServer {
        if (!cluster.apiServer)
          throw new Error(
            `the playground runs on the ${cluster.kind} control plane, not the embedded API server`,
          );
        return cluster.apiServer;
      },
      issuer,
      receiver,
      controller,
      kube: httpKube,
      attestationPublicKeyPath: publicKeyPath,
      stop() {
        stopped ??= (async () => {
          rmSync(infoPath, { force: true });
          for (const cleanup of cleanups) await cleanup();
        })();
        return stopped;
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await cleanup().catch(() => undefined);
    throw error;
  }
}

/** Read playground.json from a state dir; throws a clear error when the playground is not running. */
export function readPlaygroundInfo(stateDir: string): PlaygroundInfo {
  const path = join(resolve(stateDir), 'playground.json');
  if (!existsSync(path))
    throw new Error(
      `no running playground in ${stateDir} (${path} not found): start one with keyless-deploy playground`,
    );
  return JSON.parse(readFileSync(path, 'utf8')) as PlaygroundInfo;
}
