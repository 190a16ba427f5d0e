/** `keyless-deploy run`: run the in-cluster components, the receiver and/or the controller. */
import { loadAttestationPublicKeys } from '../../attestation/attestation-keys.js';
import { CONTROLLER_SETTINGS, loadControllerConfig } from '../../controller/controller-config.js';
import { startController, type RunningController } from '../../controller/controller-manager.js';
import { gitHubReporting, gitHubWebhooks } from '../../github/github-reporting.js';
import { GITHUB_SETTINGS, loadGitHubSettings } from '../../github/github-settings.js';
import { createKubeClient } from '../../kube/load-kube-config.js';
import { createLogger } from '../../observability/logger.js';
import { evaluatePolicies, parseImageReference } from '../../policy/index.js';
import {
  loadReceiverConfig,
  receiverDepsFromConfig,
  RECEIVER_SETTINGS,
  startReceiver,
  type RunningReceiver,
} from '../../receiver/index.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { parseFlags, type OptionSpec } from '../parse-args.js';

type Setting = { flag: string; env: string; default: string | undefined };

const settingOptions: OptionSpec = Object.fromEntries(
  [
    ...Object.values(RECEIVER_SETTINGS),
    ...Object.values(CONTROLLER_SETTINGS),
    ...Object.values(GITHUB_SETTINGS),
  ].map((setting) => [setting.flag, { type: 'string' as const }]),
);

const describe = (settings: Record<string, Setting>): string =>
  Object.values(settings)
    .map((s) => `  --${s.flag.padEnd(30)} [${s.env}]${s.default ? ` default ${s.default}` : ''}`)
    .join('\n');

export const RUN_HELP = `Usage: keyless-deploy run [--receiver] [--controller] [options]

Runs the in-cluster components. Every option is also an environment variable (in brackets); flags
win. A missing or invalid setting stops start-up with a message naming it (exit code 2). Stops
gracefully on SIGTERM/SIGINT. See docs/configuration.md.

Components (one or both):
  --receiver      Verify GitHub Actions OIDC tokens, record DeployRequests (HTTP API)
  --controller    Reconcile DeployRequests against DeployPolicies, deploy, roll back

Receiver options:
${describe(RECEIVER_SETTINGS)}

Controller options:
${describe(CONTROLLER_SETTINGS)}

GitHub App options (all optional; see docs/github-app.md). The controller reports deployments when
an App id and key are set; the receiver accepts POST /v1/github/webhook when a secret is set:
${describe(GITHUB_SETTINGS)}

Examples:
  KEYLESS_OIDC_AUDIENCE=https://deploy.example.com KEYLESS_ATTESTATION_KEY_FILE=/keys/attestation.pem \\
    keyless-deploy run --receiver --listen 0.0.0.0:8080
  KEYLESS_ATTESTATION_PUBLIC_KEY_FILE=/keys/attestation.pub keyless-deploy run --controller
`;

/** Run the run command until SIGINT/SIGTERM. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, {
    receiver: { type: 'boolean' },
    controller: { type: 'boolean' },
    ...settingOptions,
  });
  if (values.help) {
    io.stdout(RUN_HELP);
    return EXIT.ok;
  }
  if (!values.receiver && !values.controller)
    throw new UsageError('choose a component: --receiver and/or --controller');
  const logger = createLogger({ name: 'keyless-deploy', level: io.env.KEYLESS_LOG_LEVEL ?? 'info' });
  // Validate every setting before starting anything.
  const receiverConfig = values.receiver ? loadReceiverConfig(io.env, values) : undefined;
  const controllerConfig = values.controller ? loadControllerConfig(io.env, values) : undefined;
  const github = loadGitHubSettings(io.env, values);
  const kubeconfig = receiverConfig?.kubeconfig ?? controllerConfig?.kubeconfig;
  const kube = createKubeClient(kubeconfig ? { kubeconfigPath: kubeconfig } : {});

  let receiver: RunningReceiver | undefined;
  let controller: RunningController | undefined;
  if (receiverConfig) {
    const deps = await receiverDepsFromConfig(receiverConfig, {
      kube,
      logger: logger.child({ component: 'receiver' }),
      evaluatePolicies,
      parseImageReference,
    });
    receiver = await startReceiver(
      { listen: receiverConfig.listen, shutdownTimeoutSeconds: receiverConfig.shutdownTimeoutSeconds },
      { ...deps, github: gitHubWebhooks(github) },
    );
  }
  if (controllerConfig) {
    controller = await startController({
      kube,
      attestationKeys: await loadAttestationPublicKeys(controllerConfig.attestationPublicKeyFile),
      logger: logger.child({ component: 'controller' }),
      concurrency: controllerConfig.concurrency,
      namespaces: controllerConfig.namespaces,
      claimNamespace: controllerConfig.leaderElectionNamespace,
      github: gitHubReporting(github),
      listen: controllerConfig.metricsListen,
      leaderElection: controllerConfig.leaderElection
        ? {
            namespace: controllerConfig.leaderElectionNamespace,
            name: controllerConfig.leaderElectionName,
            identity: io.env.POD_NAME,
          }
        : undefined,
      history: {
        ttlMs: controllerConfig.historyTtlSeconds * 1000,
        limitPerWorkload: controllerConfig.historyLimit,
      },
    });
    logger.info({ health: controller.url }, 'controller running');
  }
  const signal = await io.stopSignal;
  logger.info({ signal }, 'shutting down');
  await receiver?.close();
  await controller?.stop();
  logger.info('stopped');
  return EXIT.ok;
}
