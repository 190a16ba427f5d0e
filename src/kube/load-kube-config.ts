/**
 * Where the Kubernetes connection comes from: an explicit kubeconfig file, `KUBECONFIG`, the
 * in-cluster service account, or `~/.kube/config` (client-node's default order).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';
import { createClientNodeKubeClient } from './client-node-kube-client.js';

export interface KubeConnectionOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, in-cluster, then ~/.kube/config. */
  kubeconfigPath?: string;
  /** A kubeconfig as YAML text (tests, playground). */
  kubeconfigYaml?: string;
}

/** Load the connection settings. Throws with a clear message when none can be found. */
export function loadKubeConfig(options: KubeConnectionOptions = {}): KubeConfig {
  const config = new KubeConfig();
  if (options.kubeconfigYaml) config.loadFromString(options.kubeconfigYaml);
  else if (options.kubeconfigPath) config.loadFromFile(options.kubeconfigPath);
  else config.loadFromDefault();
  if (!config.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes cluster configured: set KUBECONFIG, pass --kubeconfig, or run in a cluster',
    );
  }
  return config;
}

/** A KubeClient for the configured cluster. */
export function createKubeClient(options: KubeConnectionOptions = {}): KubeClient {
  return createClientNodeKubeClient(loadKubeConfig(options));
}
