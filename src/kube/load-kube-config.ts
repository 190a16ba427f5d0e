/**
 * Where the Kubernetes connection comes from: an explicit kubeconfig file, `KUBECONFIG`,
 * `~/.kube/config`, or the in-cluster service account (client-node's default order). When none of
 * them exists it says so, and where it looked, instead of letting client-node fall back to
 * `http://localhost:8080` and fail later with a connection error that names none of this.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';
import { createClientNodeKubeClient } from './client-node-kube-client.js';

/** The service account token a pod gets (what "in a cluster" means to client-node). */
export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeConnectionOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfigPath?: string;
  /** A kubeconfig as YAML text (tests, playground). */
  kubeconfigYaml?: string;
  /** Environment to read KUBECONFIG and HOME from. Default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** No usable Kubernetes connection settings: a configuration error (the CLI exits 2). */
export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

/** Load the connection settings. Throws KubeConfigError with a clear message when none can be found. */
export function loadKubeConfig(options: KubeConnectionOptions = {}): KubeConfig {
  const config = new KubeConfig();
  const env = options.env ?? process.env;
  if (options.kubeconfigYaml) config.loadFromString(options.kubeconfigYaml);
  else if (options.kubeconfigPath) {
    if (!existsSync(options.kubeconfigPath))
      throw new KubeConfigError(`kubeconfig ${options.kubeconfigPath} (--kubeconfig) not found`);
    loadFile(config, options.kubeconfigPath);
  } else {
    const fromEnv = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
    const home = env.HOME || homedir();
    const inHome = join(home, '.kube', 'config');
    if (fromEnv.length > 0) {
      const missing = fromEnv.filter((file) => !existsSync(file));
      if (missing.length === fromEnv.length)
        throw new KubeConfigError(
          `no kubeconfig found: KUBECONFIG names ${missing.join(', ')}, which do not exist`,
        );
      loadFile(config, fromEnv.find((file) => existsSync(file)) as string);
      for (const file of fromEnv.slice(1).filter((f) => existsSync(f))) {
        const more = new KubeConfig();
        loadFile(more, file);
        config.mergeConfig(more);
      }
    } else if (existsSync(inHome)) loadFile(config, inHome);
    else if (existsSync(SERVICE_ACCOUNT_TOKEN)) config.loadFromCluster();
    else
      throw new KubeConfigError(
        `no kubeconfig found: looked at --kubeconfig (not given), KUBECONFIG (not set), ${inHome} ` +
          `(does not exist) and the in-cluster service account ${SERVICE_ACCOUNT_TOKEN} (does not exist). ` +
          'Pass --kubeconfig FILE or set KUBECONFIG',
      );
  }
  if (!config.getCurrentCluster()) {
    throw new KubeConfigError(
      'the kubeconfig names no current cluster: set current-context, pass --kubeconfig, or run in a cluster',
    );
  }
  return config;
}

function loadFile(config: KubeConfig, file: string): void {
  try {
    config.loadFromFile(file);
  } catch (error) {
    throw new KubeConfigError(`cannot read kubeconfig ${file}: ${(error as Error).message}`);
  }
}

/** A KubeClient for the configured cluster. */
export function createKubeClient(options: KubeConnectionOptions = {}): KubeClient {
  return createClientNodeKubeClient(loadKubeConfig(options));
}
