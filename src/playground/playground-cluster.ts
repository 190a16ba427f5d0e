/**
 * The Kubernetes API the playground runs on: the embedded API server (default, no setup), the real
 * control plane built by `npm run cluster-tools` (`--control-plane real`), or an existing cluster
 * given by a kubeconfig (the cluster test suites). Everything else in the playground talks to it
 * through a kubeconfig, as in a cluster.
 */
import { join } from 'node:path';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../apiserver/embedded-api-server.js';
import { createClientNodeKubeClient } from '../kube/client-node-kube-client.js';
import type { KubeClient } from '../kube/kube-client.js';
import { loadKubeConfig } from '../kube/load-kube-config.js';
import type { Logger } from '../observability/logger.js';
import type { RealControlPlane } from './control-plane/real-control-plane.js';
import { readFileSync } from 'node:fs';

/** Which API server: `embedded`, `real` (local processes), or an existing cluster's kubeconfig file. */
export type ControlPlaneChoice = 'embedded' | 'real' | { kubeconfigPath: string };

export interface PlaygroundCluster {
  kind: 'embedded' | 'real' | 'external';
  /** The API server's URL. */
  url: string;
  /** An admin kubeconfig (YAML). */
  kubeconfig: string;
  /** A client for the playground's own setup (CRDs, demo objects). */
  kube: KubeClient;
  /** Set for `embedded`: the in-process server (fault injection in tests). */
  apiServer?: EmbeddedApiServer;
  /** Set for `real`: the local control plane (restarts, users, ServiceAccount tokens). */
  controlPlane?: RealControlPlane;
  close(): Promise<void>;
}

export interface PlaygroundClusterOptions {
  choice: ControlPlaneChoice;
  stateDir: string;
  logger: Logger;
  apiServerPort?: number;
  rolloutStepMs?: number;
}

/** Start (or connect to) the playground's API server. */
export async function startPlaygroundCluster(options: PlaygroundClusterOptions): Promise<PlaygroundCluster> {
  const { choice, stateDir, logger } = options;
  if (choice === 'embedded') {
    const apiServer = await startEmbeddedApiServer({
      port: options.apiServerPort ?? 0,
      dataDir: join(stateDir, 'data'),
      logger: logger.child({ component: 'apiserver' }),
      workloads: { stepMs: options.rolloutStepMs ?? 250 },
    });
    return {
      kind: 'embedded',
      url: apiServer.url,
      kubeconfig: apiServer.kubeconfig(),
      kube: apiServer.kubeClient(),
      apiServer,
      close: () => apiServer.close(),
    };
  }
  if (choice === 'real') {
    // Loaded only when asked for: it spawns processes and needs the repository's build script.
    const { startRealControlPlane } = await import('./control-plane/real-control-plane.js');
    const controlPlane = await startRealControlPlane({ stateDir: join(stateDir, 'control-plane'), logger });
    return {
      kind: 'real',
      url: controlPlane.url,
      kubeconfig: controlPlane.adminKubeconfig,
      kube: controlPlane.kube,
      controlPlane,
      close: () => controlPlane.stop(),
    };
  }
  const kubeconfig = readFileSync(choice.kubeconfigPath, 'utf8');
  const config = loadKubeConfig({ kubeconfigYaml: kubeconfig });
  return {
    kind: 'external',
    url: config.getCurrentCluster()?.server ?? '',
    kubeconfig,
    kube: createClientNodeKubeClient(config),
    close: () => Promise.resolve(),
  };
}
