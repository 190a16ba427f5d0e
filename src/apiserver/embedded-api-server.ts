/**
 * The embedded Kubernetes API server: a real HTTP server on loopback that speaks the Kubernetes
 * REST API (see docs/embedded-api-server.md for what it implements and how it differs from
 * kube-apiserver). It serves the playground and the integration tests, driven by a real kubectl
 * and by @kubernetes/client-node.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KubeClient } from '../kube/kube-client.js';
import type { Logger } from '../observability/logger.js';
import { FaultInjector } from './faults/fault-injector.js';
import { createHttpHandler } from './http-handler.js';
import { ObjectStore } from './object-store.js';
import { loadSnapshot, saveSnapshot } from './persistence.js';
import { ResourceRegistry } from './resource-registry.js';
import { ResourceService, resourceKey } from './resource-service.js';
import { createStoreKubeClient } from './store-kube-client.js';
import { createValidatingAdmission } from './admission/validating-admission.js';
import { WorkloadSimulator, type WorkloadSimulatorOptions } from './workloads/workload-simulator.js';

export interface EmbeddedApiServerOptions {
  /** Listen address; default 127.0.0.1 (never expose it: it has no authentication). */
  host?: string;
  /** Port; default 0 (any free port). */
  port?: number;
  /** Persist objects here and load them at start. */
  dataDir?: string;
  logger?: Logger;
  /** Changes kept for watch resume before 410 Gone; default 10 000. */
  watchWindow?: number;
  /**
   * Simulated workload controllers (on by default, instant rollouts); `false` turns them off.
   * See src/apiserver/workloads/README.md for the failing-image rule.
   */
  workloads?: Omit<WorkloadSimulatorOptions, 'kube' | 'logger'> | false;
}

export interface EmbeddedApiServer {
  /** `http://HOST:PORT`. */
  readonly url: string;
  readonly faults: FaultInjector;
  /** In-process client with the same semantics (and faults) as HTTP. */
  kubeClient(): KubeClient;
  /** A kubeconfig (YAML) for kubectl and client-node. */
  kubeconfig(): string;
  /** Forget the watch history: every resume gets 410 Gone until new changes arrive. */
  compactWatchHistory(): void;
  /** The current global resourceVersion. */
  revision(): number;
  /** TCP connections accepted so far (tests check that clients reuse connections). */
  connectionsAccepted(): number;
  /** Stop: ends watches, closes the socket, writes the data dir. */
  close(): Promise<void>;
}

/** Start an embedded API server. */
export async function startEmbeddedApiServer(
  options: EmbeddedApiServerOptions = {},
): Promise<EmbeddedApiServer> {
  const host = options.host ?? '127.0.0.1';
  const registry = new ResourceRegistry();
  let store = new ObjectStore(options.watchWindow ?? 10_000);
  if (options.dataDir) {
    const revision = loadSnapshot(options.dataDir, store);
    if (revision > 0) {
      const loaded = store;
      store = new ObjectStore(options.watchWindow ?? 10_000, revision);
      for (const [resource, objects] of loaded.dump()) {
        for (const object of objects) {
          const namespace = object.metadata.namespace as string | undefined;
          const name = object.metadata.name as string;
          store.restore(resource, namespace ? `${namespace}/${name}` : name, object);
        }
      }
      for (const crd of store.list('apiextensions.k8s.io/customresourcedefinitions'))
        registry.registerCrd(crd);
    }
  }
  const admissionKey = (plural: string): string => `admissionregistration.k8s.io/${plural}`;
  const service = new ResourceService(
    store,
    registry,
    undefined,
    createValidatingAdmission({
      policies: () => store.list(admissionKey('validatingadmissionpolicies')),
      bindings: () => store.list(admissionKey('validatingadmissionpolicybindings')),
    }),
  );
  const faults = new FaultInjector();
  const watches = new Set<ServerResponse>();
  const server: Server = createServer(
    createHttpHandler({ registry, service, faults, logger: options.logger, watches }),
  );
  server.keepAliveTimeout = 5_000;
  let connections = 0;
  server.on('connection', () => (connections += 1));

  let saveTimer: NodeJS.Timeout | undefined;
  const dataDir = options.dataDir;
  if (dataDir) {
    // At most once a second: a snapshot is the whole store, so saving after every change would
    // cost work proportional to the store on every write; close() saves the last state.
    store.subscribe(store.revision, () => {
      if (saveTimer) return;
      saveTimer = setTimeout(() => {
        saveTimer = undefined;
        saveSnapshot(dataDir, store);
      }, 1000);
    });
    saveSnapshot(dataDir, store);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  options.logger?.info({ url, dataDir: options.dataDir }, 'embedded API server listening');
  const client = createStoreKubeClient(registry, service, faults);

  // Ensure the namespaces every cluster has.
  for (const name of ['default', 'kube-system', 'kube-public']) {
    if (!store.get(resourceKey(registry.find('', 'v1', 'namespaces')!), name)) {
      service.create({ resource: registry.find('', 'v1', 'namespaces')! }, { metadata: { name } });
    }
  }
  // The watch history starts here, as a real server's watch cache starts at the revision it was
  // started at: resuming from a resourceVersion older than the server (such as "1") is 410 Gone.
  store.compact();

  let simulator: WorkloadSimulator | undefined;
  if (options.workloads !== false) {
    // The simulator talks to the store directly, unaffected by injected faults (it plays the kube-controller-manager).
    simulator = new WorkloadSimulator({
      ...(options.workloads ?? {}),
      kube: createStoreKubeClient(registry, service),
      logger: options.logger,
    });
    await simulator.start();
  }

  return {
    url,
    faults,
    kubeClient: () => client,
    kubeconfig: () => kubeconfigYaml(url),
    compactWatchHistory: () => store.compact(),
    revision: () => store.revision,
    connectionsAccepted: () => connections,
    async close() {
      await simulator?.stop();
      for (const response of watches) response.end();
      watches.clear();
      if (saveTimer) clearTimeout(saveTimer);
      if (dataDir) saveSnapshot(dataDir, store);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A kubeconfig for an embedded API server (plain HTTP on loopback, no credentials). */
export function kubeconfigYaml(url: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: keyless-embedded',
    '  cluster:',
    `    server: ${url}`,
    // Plain HTTP on loopback; client-node refuses http:// unless TLS verification is declared off.
    '    insecure-skip-tls-verify: true',
    'contexts:',
    '- name: keyless-embedded',
    '  context:',
    '    cluster: keyless-embedded',
    '    user: keyless-embedded',
    '    namespace: default',
    'current-context: keyless-embedded',
    'users:',
    '- name: keyless-embedded',
    '  user: {}',
    '',
  ].join('\n');
}
