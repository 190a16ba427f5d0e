/**
 * The controller's wiring on a {@link Manager}: informers for DeployRequests, DeployPolicies and the
 * four workload kinds (on every replica), events routed to queue keys (see event-routing.ts), and,
 * on the leader only, the deploy reconciler and the GitHub reporter, each on its own work queue so
 * GitHub never delays a deploy. Periodic jobs: the requests-by-phase gauge and history collection.
 */
import type { DeployPolicy, DeployRequest } from '../api/types.js';
import type { AttestationPublicKey } from '../attestation/index.js';
import { DeploymentReporter, needsReport } from '../github/deployment-reporter.js';
import type { GitHubDeployments } from '../github/github-deployments.js';
import type { KubeClient, KubeObject, ResourceType } from '../kube/kube-client.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import { withoutManagedFields } from '../kube/guarded-informer.js';
import { createScopedInformer } from '../kube/scoped-informer.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { createEventRecorder } from '../runtime/event-recorder.js';
import { Manager, type LeaderElectionSettings } from '../runtime/manager.js';
import { WorkQueue } from '../runtime/work-queue.js';
import { DeployRequestReconciler, FIELD_MANAGER } from './deploy-request-reconciler.js';
import { isOpen, keyOf, routeEvents, type ControllerInformers } from './event-routing.js';
import { collectHistory, type HistorySettings } from './history-gc.js';
import { collectClaims, DEFAULT_CLAIM_RETENTION_MS } from './replay-guard.js';
import { WorkloadRequestIndex } from './workload-request-index.js';

type Request = DeployRequest & KubeObject;

/** What the controller runs with. */
export interface ControllerOptions {
  kube: KubeClient;
  attestationKeys: readonly AttestationPublicKey[];
  logger: Logger;
  metrics?: Metrics;
  /** Reconciles at once. Default 16 (reconciles are short and wait on API round trips). */
  concurrency?: number;
  /** Lease election; absent runs as the only replica. */
  leaderElection?: LeaderElectionSettings;
  /** `host:port` of the health and metrics server; absent: none. */
  listen?: { host: string; port: number };
  /**
   * Namespaces to act in; undefined or empty for all. A restricted controller lists and watches
   * only these namespaces (it is granted Roles there, not a ClusterRole).
   */
  namespaces?: readonly string[];
  /** Informer resync. Default 5 minutes. */
  resyncMs?: number;
  /** A running rollout's safety-net look without a workload event (`ReconcilerDeps.pollMs`). Default 10 s. */
  pollMs?: number;
  history?: HistorySettings;
  now?: () => Date;
  /**
   * Report GitHub requests back to GitHub as deployments (the App's Deployments API). Absent: no
   * reporting. Runs on its own queue, so GitHub never delays a deploy.
   */
  github?: {
    deployments: GitHubDeployments;
    logUrlTemplate?: string;
    /** First retry delay after a GitHub error. Default 1 s. */
    retryBaseMs?: number;
    /** GitHub calls at once. Default 2. */
    concurrency?: number;
  };
  /** The reconciler's `approvalAdmissionSettleSeconds` (see deploy-request-reconciler.ts). Default 2. */
  approvalAdmissionSettleSeconds?: number;
  /** The freshness window of attestations (see replay-guard.ts). Default 300 s. */
  attestationMaxAgeSeconds?: number;
  /**
   * Where attested names are claimed (Leases; see replay-guard.ts): the controller's own namespace,
   * where users cannot delete Leases. Default: the leader election namespace, else `default`.
   */
  claimNamespace?: string;
  /**
   * How long claims are kept before collection (leader only, with history collection). Must exceed
   * the freshness window plus 60 s. Default 1 hour.
   */
  claimRetentionMs?: number;
}

/** The namespace of attested-name claims. */
function claimNamespaceOf(options: ControllerOptions): string {
  return options.claimNamespace ?? options.leaderElection?.namespace ?? 'default';
}

/** A started controller. */
export interface RunningController {
  /** The health server's URL, when listening. */
  url?: string;
  isLeader(): boolean;
  /** Resolves when the caches have synced. */
  synced: Promise<void>;
  /** Keys waiting or running. */
  queueSize(): number;
  /**
   * Resolves when neither the deploy queue nor the report queue has a key waiting or running
   * (delayed retries do not count); at once on a standby replica.
   */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const WORKLOAD_TYPES: ResourceType[] = [
  RESOURCE_TYPES.deployments,
  RESOURCE_TYPES.statefulSets,
  RESOURCE_TYPES.daemonSets,
  RESOURCE_TYPES.cronJobs,
];

/** Start the controller. */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { kube, logger, namespaces } = options;
  const metrics = options.metrics ?? createMetrics({ collectDefaults: true });
  const informer = <T extends KubeObject>(type: ResourceType) =>
    createScopedInformer<T>({
      kube,
      type,
      namespaces,
      resyncMs: options.resyncMs,
      logger,
      // Measured: the controller's peak RSS with 10,000 requests cached (docs/performance.md).
      transform: withoutManagedFields,
    });
  const informers: ControllerInformers = {
    requests: informer<Request>(RESOURCE_TYPES.deployRequests),
    policies: informer<KubeObject>(RESOURCE_TYPES.deployPolicies),
    workloads: WORKLOAD_TYPES.map((type) => ({ type, informer: informer<KubeObject>(type) })),
  };
  const manager = new Manager({
    kube,
    logger,
    metrics,
    leaderElection: options.leaderElection,
    listen: options.listen,
  });
  manager.addInformer(informers.requests);
  manager.addInformer(informers.policies);
  for (const { informer: workloads } of informers.workloads) manager.addInformer(workloads);

  const queueDepth = metrics.gauge('controller_queue_depth', 'DeployRequests waiting in the work queue.');
  let deploys: WorkQueue | undefined;
  let reports: WorkQueue | undefined;
  const reconcile = (key: string): void => {
    deploys?.add(key);
    queueDepth.set(deploys?.depth ?? 0);
  };
  const report = (request: Request): void => {
    if (needsReport(request)) reports?.add(keyOf(request));
  };
  // Requests by workload for the order step, on every replica so a new leader starts with it.
  const index = new WorkloadRequestIndex();
  informers.requests.on('add', (request) => index.observe(request));
  informers.requests.on('update', (request) => index.observe(request));
  informers.requests.on('delete', (request) => index.forget(request));
  routeEvents(informers, { reconcile, report }, (namespace, kind, name) =>
    index.requestsFor(namespace, kind, name),
  );

  manager.whenLeading((signal) => {
    const queue = startReconciler(options, informers, metrics, signal, index, reconcile, () =>
      queueDepth.set(queue.depth),
    );
    deploys = queue;
    const reportQueue = options.github ? startReporter(options, informers, metrics) : undefined;
    reports = reportQueue;
    for (const request of informers.requests.list()) {
      if (isOpen(request)) reconcile(keyOf(request));
      report(request);
    }
    logger.info('controller is acting');
    return async () => {
      deploys = undefined;
      reports = undefined;
      await Promise.all([queue.shutdown(), reportQueue?.shutdown()]);
    };
  });

  const phases = metrics.gauge('controller_requests', 'DeployRequests by phase (from the cache).', ['phase']);
  manager.every(5000, () => {
    const counts = new Map<string, number>();
    for (const request of informers.requests.list()) {
      const phase = request.status?.phase ?? 'Pending';
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
    phases.reset();
    for (const [phase, count] of counts) phases.set({ phase }, count);
  });
  const history = options.history;
  if (history) {
    manager.every(
      history.intervalMs ?? 60_000,
      () =>
        void collectHistory(
          kube,
          informers.requests.list(),
          history,
          (options.now ?? (() => new Date()))(),
          logger,
        ).catch((error: unknown) => logger.warn({ err: error }, 'history collection failed')),
      true,
    );
    manager.every(
      history.intervalMs ?? 60_000,
      () =>
        void collectClaims(
          kube,
          claimNamespaceOf(options),
          options.claimRetentionMs ?? DEFAULT_CLAIM_RETENTION_MS,
          (options.now ?? (() => new Date()))(),
          logger,
        ).catch((error: unknown) => logger.warn({ err: error }, 'claim collection failed')),
      true,
    );
  }

  await manager.start();
  return {
    url: manager.url,
    synced: Promise.resolve(),
    isLeader: () => manager.isLeader(),
    queueSize: () => deploys?.size ?? 0,
    async idle() {
      // Both at the same moment: a report can queue a reconcile and the other way round.
      while (!((deploys?.isIdle ?? true) && (reports?.isIdle ?? true)))
        await Promise.all([deploys?.idle(), reports?.idle()]);
    },
    async stop() {
      await manager.stop();
      logger.info('controller stopped');
    },
  };
}

/** The deploy reconciler on its work queue (leader only; `signal` aborts when leadership ends). */
function startReconciler(
  options: ControllerOptions,
  informers: ControllerInformers,
  metrics: Metrics,
  signal: AbortSignal,
  index: WorkloadRequestIndex,
  requeue: (key: string) => void,
  processed: () => void,
): WorkQueue {
  const { kube, logger } = options;
  const reconciler = new DeployRequestReconciler({
    index,
    requeue,
    kube,
    attestationKeys: options.attestationKeys,
    events: createEventRecorder(kube, { component: FIELD_MANAGER, logger, now: options.now }),
    logger: logger.child({ component: 'reconciler' }),
    metrics,
    now: options.now,
    pollMs: options.pollMs,
    signal,
    namespaces: options.namespaces,
    policies: (namespace) => informers.policies.list(namespace) as unknown as DeployPolicy[],
    approvalAdmissionSettleSeconds: options.approvalAdmissionSettleSeconds,
    attestationMaxAgeSeconds: options.attestationMaxAgeSeconds,
    claimNamespace: claimNamespaceOf(options),
  });
  const queue = new WorkQueue((key) => reconciler.reconcile(key), {
    concurrency: options.concurrency ?? 16,
    logger,
    onProcessed: (_key, outcome) => {
      metrics.counter('controller_reconciles_total', 'Reconciles by outcome.', ['outcome']).inc({ outcome });
      processed();
    },
  });
  queue.start();
  return queue;
}

/** The GitHub reporter on its own queue (leader only). */
function startReporter(
  options: ControllerOptions,
  informers: ControllerInformers,
  metrics: Metrics,
): WorkQueue {
  const github = options.github as NonNullable<ControllerOptions['github']>;
  const { kube, logger } = options;
  const reporter = new DeploymentReporter({
    kube,
    github: github.deployments,
    attestationKeys: options.attestationKeys,
    policy: (namespace, name) =>
      informers.policies.get(namespace, name) as (DeployPolicy & KubeObject) | undefined,
    logUrlTemplate: github.logUrlTemplate,
    logger: logger.child({ component: 'github-reporter' }),
    metrics,
    events: createEventRecorder(kube, { component: 'keyless-deploy-github', logger }),
    retryBaseMs: github.retryBaseMs,
  });
  const queue = new WorkQueue((key) => reporter.reconcile(key), {
    concurrency: github.concurrency ?? 2,
    logger,
    baseBackoffMs: 1000,
    maxBackoffMs: 5 * 60_000,
  });
  queue.start();
  return queue;
}
