/** `keyless-deploy playground`: run the local playground until SIGINT/SIGTERM. */
import { createLogger } from '../../observability/logger.js';
import { GITHUB_SETTINGS, loadGitHubSettings } from '../../github/github-settings.js';
import { startPlayground } from '../../playground/playground.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { parseFlags } from '../parse-args.js';

export const PLAYGROUND_HELP = `Usage: keyless-deploy playground [--state-dir DIR] [options]

Runs a complete local playground with no cluster and no GitHub: a Kubernetes API server with the
CRDs installed, a demo namespace, Deployment and DeployPolicy, a local OIDC issuer that signs
GitHub-shaped tokens, the receiver trusting it, and the controller. Stops cleanly on Ctrl-C (SIGINT)
or SIGTERM; objects are kept in DIR for the next start.

The API server is, with --control-plane:
  embedded   (default) the project's own API server in this process, with simulated Deployment,
             StatefulSet, DaemonSet and CronJob controllers. Starts in a second; needs nothing else.
  real       a real Kubernetes control plane as local processes: etcd, kube-apiserver,
             kube-controller-manager, kube-scheduler and kwok (fake Nodes: Pods become Running and
             Ready, except images whose tag starts with "fail"). Build it first with
             \`npm run cluster-tools\` (Go >= 1.26; several minutes the first time). Needs openssl.

Options:
  --control-plane KIND   embedded (default) or real
  --state-dir DIR        Where kubeconfig, playground.json and data go (default .playground)
  --no-demo              Do not create the demo namespace, Deployment and DeployPolicy
  --api-server-port N    Port of the embedded API server (default: any free port)
  --receiver-port N      Port of the receiver (default: any free port)
  --trust-issuer URL     Also trust this OIDC issuer (repeatable)
  --rollout-step-ms N    Time between simulated replica steps (default 250)
  --github-*             GitHub App settings, as for \`run\` (also KEYLESS_GITHUB_*): report deployments
                         to that GitHub API and accept its webhooks (see docs/github-app.md)
  -h, --help             Show this help

Files written:
  DIR/kubeconfig         for kubectl: kubectl --kubeconfig DIR/kubeconfig get deployrequests -A
  DIR/playground.json    URLs of the API server, receiver and issuer, and a demo dispatch

Example:
  keyless-deploy playground --state-dir .playground
  kubectl --kubeconfig .playground/kubeconfig get deploypolicies,deployments -n demo
  TOKEN=$(keyless-deploy token --state-dir .playground)
`;

function port(value: string | boolean | string[] | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new Error(`--${flag} must be a port number from 0 to 65535`);
  return number;
}

/** Run the playground command. */
export async function playgroundCommand(args: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags(args, {
    'control-plane': { type: 'string' },
    'state-dir': { type: 'string' },
    'no-demo': { type: 'boolean' },
    'api-server-port': { type: 'string' },
    'receiver-port': { type: 'string' },
    'trust-issuer': { type: 'string', multiple: true },
    'rollout-step-ms': { type: 'string' },
    ...Object.fromEntries(Object.values(GITHUB_SETTINGS).map((s) => [s.flag, { type: 'string' as const }])),
  });
  if (values.help) {
    io.stdout(PLAYGROUND_HELP);
    return EXIT.ok;
  }
  const stateDir = (values['state-dir'] as string | undefined) ?? '.playground';
  const controlPlane = (values['control-plane'] as string | undefined) ?? 'embedded';
  if (controlPlane !== 'embedded' && controlPlane !== 'real')
    throw new UsageError(`--control-plane must be embedded or real, not ${JSON.stringify(controlPlane)}`);
  if (controlPlane === 'real' && values['api-server-port'] !== undefined)
    throw new UsageError('--api-server-port applies to the embedded API server only');
  const logger = createLogger({ name: 'playground', level: io.env.KEYLESS_LOG_LEVEL ?? 'info' });
  const trust = (values['trust-issuer'] as string[] | undefined) ?? [];
  for (const issuer of trust) {
    if (!URL.canParse(issuer)) throw new Error(`--trust-issuer ${issuer} is not a URL`);
  }
  const playground = await startPlayground({
    stateDir,
    controlPlane,
    demo: values['no-demo'] !== true,
    apiServerPort: port(values['api-server-port'], 'api-server-port'),
    receiverPort: port(values['receiver-port'], 'receiver-port'),
    trustIssuers: trust,
    rolloutStepMs: port(values['rollout-step-ms'], 'rollout-step-ms'),
    github: loadGitHubSettings(io.env, values),
    logger,
  });
  const { info } = playground;
  logger.info({ ...info }, 'playground ready');
  io.stderr(
    [
      '',
      `keyless-deploy playground is running (${info.controlPlane} control plane).`,
      `  API server  ${info.apiServer}`,
      `  receiver    ${info.receiver}`,
      `  issuer      ${info.issuer} (audience ${info.audience})`,
      '',
      'Try, in another terminal:',
      `  kubectl --kubeconfig ${info.kubeconfig} get deploypolicies,deployments -n demo`,
      `  TOKEN=$(npm run -s cli -- token --state-dir ${stateDir})     # a new token for every dispatch`,
      `  curl -s -X POST ${info.receiver}/v1/dispatch -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\`,
      `       -d '{"namespace":"demo","target":"web","image":"${info.demo?.imageToDeploy ?? 'ghcr.io/acme/web:1.1.0'}"}'`,
      `  kubectl --kubeconfig ${info.kubeconfig} get deployrequests -A`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  const signal = await io.stopSignal;
  logger.info({ signal }, 'stopping playground');
  await playground.stop();
  logger.info('playground stopped');
  return EXIT.ok;
}
