/** `keyless-deploy run`: run the in-cluster components (the receiver; the controller is added by issue 4). */
import { createKubeClient } from '../../kube/load-kube-config.js';
import { createLogger } from '../../observability/logger.js';
import { evaluatePolicies, parseImageReference } from '../../policy/index.js';
import {
  loadReceiverConfig,
  receiverDepsFromConfig,
  RECEIVER_SETTINGS,
  startReceiver,
} from '../../receiver/index.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { parseFlags, type OptionSpec } from '../parse-args.js';

const receiverOptions: OptionSpec = Object.fromEntries(
  Object.values(RECEIVER_SETTINGS).map((setting) => [setting.flag, { type: 'string' as const }]),
);

export const RUN_HELP = `Usage: keyless-deploy run --receiver [options]

Runs the receiver: verifies GitHub Actions OIDC tokens and records DeployRequests. Every option is
also an environment variable (in brackets); flags win. A missing or invalid setting stops start-up
with a message naming it (exit code 2). See docs/configuration.md.

Components:
  --receiver                       Run the receiver (HTTP API: /v1/dispatch, /v1/requests, /healthz, /readyz, /metrics)

Receiver options:
${Object.values(RECEIVER_SETTINGS)
  .map(
    (s) =>
      `  --${s.flag.padEnd(30)} [${s.env}]${s.default !== undefined && s.default !== '' ? ` default ${s.default}` : ''}`,
  )
  .join('\n')}

Example:
  KEYLESS_OIDC_AUDIENCE=https://deploy.example.com KEYLESS_ATTESTATION_KEY_FILE=/keys/attestation.pem \\
    keyless-deploy run --receiver --listen 0.0.0.0:8080
`;

/** Run the run command until SIGINT/SIGTERM. */
export async function runCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, {
    receiver: { type: 'boolean' },
    controller: { type: 'boolean' },
    ...receiverOptions,
  });
  if (values.help) {
    io.stdout(RUN_HELP);
    return EXIT.ok;
  }
  if (values.controller)
    throw new UsageError('--controller is not available in this version (see issue 4); run --receiver');
  if (!values.receiver) throw new UsageError('choose a component: --receiver');
  const logger = createLogger({ name: 'keyless-deploy', level: io.env.KEYLESS_LOG_LEVEL ?? 'info' });
  const config = loadReceiverConfig(io.env, values);
  const kube = createKubeClient(config.kubeconfig ? { kubeconfigPath: config.kubeconfig } : {});
  const deps = await receiverDepsFromConfig(config, {
    kube,
    logger: logger.child({ component: 'receiver' }),
    evaluatePolicies,
    parseImageReference,
  });
  const receiver = await startReceiver(
    { listen: config.listen, shutdownTimeoutSeconds: config.shutdownTimeoutSeconds },
    deps,
  );
  const signal = await io.stopSignal;
  logger.info({ signal }, 'shutting down');
  await receiver.close();
  logger.info('stopped');
  return EXIT.ok;
}
