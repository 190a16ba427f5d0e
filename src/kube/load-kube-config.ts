/**
 * Where the Kubernetes connection comes from, in client-node's (and kubectl's) order: an explicit
 * kubeconfig file, the files named by `KUBECONFIG`, `~/.kube/config`, then the in-cluster service
 * account. When none of them exists the error says where it looked, instead of letting client-node
 * fall back to a made-up `localhost` cluster whose connection errors say nothing useful.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeClient } from './kube-client.js';
import { createClientNodeKubeClient } from './client-node-kube-client.js';

export interface KubeConnectionOptions {
  /** A kubeconfig file; otherwise KUBECONFIG, ~/.kube/config, then in-cluster. */
  kubeconfigPath?: string;
  /** A kubeconfig as YAML text (tests, playground). */
  kubeconfigYaml?: string;
  /** The environment to read KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** No kubeconfig could be found; the message says where it was looked for. */
export class KubeConfigNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigNotFoundError';
  }
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/** Throw KubeConfigNotFoundError unless one of the default places has a configuration. */
function requireDefaultConfig(env: NodeJS.ProcessEnv): void {
  const listed = (env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (listed.length > 0) {
    const missing = listed.filter((file) => !existsSync(file));
    if (missing.length > 0)
      throw new KubeConfigNotFoundError(
        `no kubeconfig found: KUBECONFIG names ${missing.join(', ')}, which does not exist; fix KUBECONFIG or pass --kubeconfig FILE`,
      );
    return;
  }
  const home = env.HOME || env.USERPROFILE || homedir();
  const defaultFile = join(home, '.kube', 'config');
  if (existsSync(defaultFile)) return;
  if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) return;
  throw new KubeConfigNotFoundError(
    `no kubeconfig found: looked for --kubeconfig (not given), KUBECONFIG (not set), ${defaultFile} (does not exist) and an in-cluster service account (${env.KUBERNETES_SERVICE_HOST ? `${SERVICE_ACCOUNT_TOKEN} does not exist` : 'KUBERNETES_SERVICE_HOST not set'}); pass --kubeconfig FILE or set KUBECONFIG`,
  );
}

/** Load the connection settings. Throws with a clear message when none can be found. */
export function loadKubeConfig(options: KubeConnectionOptions = {}): KubeConfig {
  const config = new KubeConfig();
  if (options.kubeconfigYaml) {
    config.loadFromString(options.kubeconfigYaml);
  } else if (options.kubeconfigPath) {
    if (!existsSync(options.kubeconfigPath))
      throw new KubeConfigNotFoundError(`kubeconfig ${options.kubeconfigPath} (--kubeconfig) does not exist`);
    config.loadFromFile(options.kubeconfigPath);
  } else {
    requireDefaultConfig(options.env ?? process.env);
    config.loadFromDefault();
  }
  if (!config.getCurrentCluster()) {
    throw new KubeConfigNotFoundError(
      'the kubeconfig names no cluster for its current context: set current-context, pass --kubeconfig, or set KUBECONFIG',
    );
  }
  return config;
}

/** A KubeClient for the configured cluster. */
export function createKubeClient(options: KubeConnectionOptions = {}): KubeClient {
  return createClientNodeKubeClient(loadKubeConfig(options));
}

/** The API server URL a client made from these options talks to (for messages). */
export function kubeServerUrl(options: KubeConnectionOptions = {}): string | undefined {
  try {
    return loadKubeConfig(options).getCurrentCluster()?.server;
  } catch {
    return undefined;
  }
}
