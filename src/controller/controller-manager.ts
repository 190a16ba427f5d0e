/**
 * Runs the controller: guarded informers for DeployRequests, DeployPolicies and the four workload
 * kinds keep caches warm on every replica; only the leader (Lease election) runs the work queue.
 * Events map to queue keys: a request itself, the other requests of its workload, the requests a
 * policy or a workload change affects. Serves /healthz, /readyz and /metrics; stops gracefully
 * (drain the queue, release the Lease).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { TERMINAL_PHASES, type DeployPolicy, type DeployRequest } from '../api/types.js';
import type { AttestationPublicKey } from '../attestation/index.js';
import { DeploymentReporter, needsReport } from '../github/deployment-reporter.js';
import type { GitHubDeployments } from '../github/github-deployments.js';
import { createScopedInformer } from '../kube/scoped-informer.js';
import type { KubeClient, KubeObject, ResourceType } from '../kube/kube-client.js';
import { LeaderElector } from '../kube/leader-election.js';
import { RESOURCE_TYPES } from '../kube/resource-types.js';
import type { Logger } from '../observability/logger.js';
import { createMetrics, type Metrics } from '../observability/metrics.js';
import { DeployRequestReconciler, type ReconcilerDeps } from './deploy-request-reconciler.js';
import { createEventRecorder } from './event-recorder.js';
import { collectHistory, type HistorySettings } from './history-gc.js';
import { WorkQueue } from './work-queue.js';

type Request = DeployRequest & KubeObject;

export interface ControllerOptions {
  kube: KubeClient;
  attestationKeys: readonly AttestationPublicKey[];
  logger: Logger;
  metrics?: Metrics;
  /** Reconciles at once. Default 4. */
  concurrency?: number;
  /** Lease election; absent runs as the only replica. */
  leaderElection?: {
    namespace: string;
    name: string;
    identity?: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** `host:port` of the health and metrics server; absent: none. */
  listen?: { host: string; port: number };
  /**
   * Namespaces to act in; undefined or empty for all. A restricted controller lists and watches
   * only these namespaces (it is granted Roles there, not a ClusterRole).
   */
  namespaces?: readonly string[];
  /** Informer resync. Default 5 minutes. */
  resyncMs?: number;
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
  /** Tests only: called after each status write (to stop the controller at every step). */
  afterStatusWrite?: ReconcilerDeps['afterStatusWrite'];
  /** See {@link ReconcilerDeps.approvalAdmissionSettleSeconds}. Default 2. */
  approvalAdmissionSettleSeconds?: number;
}

export interface RunningController {
  /** The health server's URL, when listening. */
  url?: string;
  isLeader(): boolean;
  /** Resolves when the caches have synced. */
  synced: Promise<void>;
  /** Keys waiting or running. */
  queueSize(): number;
  stop(): Promise<void>;
}

const WORKLOAD_TYPES: ResourceType[] = [
  RESOURCE_TYPES.deployments,
  RESOURCE_TYPES.statefulSets,
  RESOURCE_TYPES.daemonSets,
  RESOURCE_TYPES.cronJobs,
];

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace}/${object.metadata.name}`;
}

/** Start the controller. */
export async function startController(options: ControllerOptions): Promise<RunningController> {
  const { kube, logger } = options;
  const metrics = options.metrics ?? createMetrics({ collectDefaults: true });
  const { namespaces } = options;
  const requests = createScopedInformer<Request>({
    kube,
    type: RESOURCE_TYPES.deployRequests,
    namespaces,
    resyncMs: options.resyncMs,
    logger,
  });
  const policies = createScopedInformer<KubeObject>({
    kube,
    type: RESOURCE_TYPES.deployPolicies,
    namespaces,
    resyncMs: options.resyncMs,
    logger,
  });
  const workloads = WORKLOAD_TYPES.map((type) =>
    createScopedInformer<KubeObject>({ kube, type, namespaces, resyncMs: options.resyncMs, logger }),
  );
  const queueDepth = metrics.gauge('controller_queue_depth', 'DeployRequests waiting in the work queue.');
  const phases = metrics.gauge('controller_requests', 'DeployRequests by phase (from the cache).', ['phase']);

  let queue: WorkQueue | undefined;
  let reportQueue: WorkQueue | undefined;
  let leading: AbortController | undefined;
  let stopping = false;

  const enqueue = (key: string): void => {
    queue?.add(key);
    queueDepth.set(queue?.depth ?? 0);
  };
  const active = (request: Request): boolean => !TERMINAL_PHASES.includes(request.status?.phase ?? 'Pending');
  const enqueueWorkload = (namespace: string | undefined, kind: string, name: string | undefined): void => {
    for (const request of requests.list(namespace)) {
      if (active(request) && request.spec.target.kind === kind && request.spec.target.name === name)
        enqueue(keyOf(request));
    }
  };

  const enqueueReport = (request: Request): void => {
    if (needsReport(request)) reportQueue?.add(keyOf(request));
  };
  requests.on('add', (request) => {
    if (active(request)) enqueue(keyOf(request));
    enqueueReport(request);
  });
  requests.on('update', (request) => {
    if (active(request)) enqueue(keyOf(request));
    enqueueReport(request);
    // Another request of the workload moved: queued ones may proceed or be superseded.
    enqueueWorkload(request.metadata.namespace, request.spec.target.kind, request.spec.target.name);
  });
  requests.on('delete', (request) =>
    enqueueWorkload(request.metadata.namespace, request.spec.target.kind, request.spec.target.name),
  );
  for (const event of ['add', 'update', 'delete'] as const) {
    policies.on(event, (policy) => {
      for (const request of requests.list(policy.metadata.namespace))
        if (active(request)) enqueue(keyOf(request));
    });
  }
  for (const informer of workloads) {
    informer.on('update', (workload) =>
      enqueueWorkload(workload.metadata.namespace, workload.kind ?? '', workload.metadata.name),
    );
  }

  const startWork = (signal: AbortSignal): void => {
    const reconciler = new DeployRequestReconciler({
      kube,
      attestationKeys: options.attestationKeys,
      events: createEventRecorder(kube, logger, options.now),
      logger: logger.child({ component: 'reconciler' }),
      metrics,
      now: options.now,
      pollMs: options.pollMs,
      signal,
      namespaces,
      policies: (namespace) => policies.list(namespace) as unknown as DeployPolicy[],
      afterStatusWrite: options.afterStatusWrite,
      approvalAdmissionSettleSeconds: options.approvalAdmissionSettleSeconds,
    });
    queue = new WorkQueue((key) => reconciler.reconcile(key), {
      concurrency: options.concurrency ?? 4,
      logger,
      onProcessed: (_key, outcome) => {
        metrics
          .counter('controller_reconciles_total', 'Reconciles by outcome.', ['outcome'])
          .inc({ outcome });
        queueDepth.set(queue?.depth ?? 0);
      },
    });
    queue.start();
    if (options.github) {
      const reporter = new DeploymentReporter({
        kube,
        github: options.github.deployments,
        attestationKeys: options.attestationKeys,
        policy: (namespace, name) => policies.get(namespace, name) as (DeployPolicy & KubeObject) | undefined,
        logUrlTemplate: options.github.logUrlTemplate,
        logger: logger.child({ component: 'github-reporter' }),
        metrics,
        retryBaseMs: options.github.retryBaseMs,
      });
      reportQueue = new WorkQueue((key) => reporter.reconcile(key), {
        concurrency: options.github.concurrency ?? 2,
        logger,
        baseBackoffMs: 1000,
        maxBackoffMs: 5 * 60_000,
      });
      reportQueue.start();
    }
    for (const request of requests.list()) {
      if (active(request)) enqueue(keyOf(request));
      enqueueReport(request);
    }
    logger.info('controller is acting');
  };
  const stopWork = async (): Promise<void> => {
    const current = queue;
    const reports = reportQueue;
    queue = undefined;
    reportQueue = undefined;
    await Promise.all([current?.shutdown(), reports?.shutdown()]);
  };

  await Promise.all([requests.start(), policies.start(), ...workloads.map((informer) => informer.start())]);
  const synced = Promise.resolve();

  const phaseTimer = setInterval(() => {
    const counts = new Map<string, number>();
    for (const request of requests.list())
      counts.set(
        request.status?.phase ?? 'Pending',
        (counts.get(request.status?.phase ?? 'Pending') ?? 0) + 1,
      );
    phases.reset();
    for (const [phase, count] of counts) phases.set({ phase }, count);
  }, 5000);
  phaseTimer.unref();

  const historyTimer = options.history
    ? setInterval(() => {
        if (!leading && options.leaderElection) return;
        void collectHistory(
          kube,
          requests.list(),
          options.history as HistorySettings,
          (options.now ?? (() => new Date()))(),
          logger,
        ).catch((error: unknown) => logger.warn({ err: error }, 'history collection failed'));
      }, options.history.intervalMs ?? 60_000)
    : undefined;
  historyTimer?.unref();

  let elector: LeaderElector | undefined;
  if (options.leaderElection) {
    const election = options.leaderElection;
    elector = new LeaderElector({
      kube,
      namespace: election.namespace,
      name: election.name,
      identity: election.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      logger,
      onStartedLeading: (signal) => {
        leading = new AbortController();
        signal.addEventListener('abort', () => leading?.abort());
        startWork(leading.signal);
      },
      onStoppedLeading: () => {
        leading?.abort();
        leading = undefined;
        void stopWork();
      },
    });
    elector.start();
  } else {
    leading = new AbortController();
    startWork(leading.signal);
  }

  let server: Server | undefined;
  let url: string | undefined;
  if (options.listen) {
    server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (path === '/healthz')
        return void response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (path === '/readyz') {
        const ready = !stopping && requests.hasSynced && policies.hasSynced;
        return void response
          .writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' })
          .end(ready ? `ok (${leading ? 'leader' : 'standby'})` : 'not ready');
      }
      if (path === '/metrics') {
        void metrics
          .render()
          .then((text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text));
        return;
      }
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((resolve) => server?.listen(options.listen?.port, options.listen?.host, resolve));
    const address = server.address() as AddressInfo;
    url = `http://${options.listen.host.includes(':') ? `[${options.listen.host}]` : options.listen.host}:${address.port}`;
  }

  return {
    url,
    synced,
    isLeader: () => leading !== undefined && !leading.signal.aborted,
    queueSize: () => queue?.size ?? 0,
    async stop() {
      stopping = true;
      clearInterval(phaseTimer);
      if (historyTimer) clearInterval(historyTimer);
      leading?.abort();
      await stopWork();
      await elector?.stop();
      requests.stop();
      policies.stop();
      for (const informer of workloads) informer.stop();
      if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
      logger.info('controller stopped');
    },
  };
}
