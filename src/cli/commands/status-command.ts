/** `keyless-deploy status NAME -n NS`: a DeployRequest's phase, conditions and timings (for operators). */
import type { DeployRequest } from '../../api/types.js';
import type { KubeObject } from '../../kube/kube-client.js';
import { createKubeClient } from '../../kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../kube/resource-types.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { namedRequest } from '../named-request.js';
import { parseFlags } from '../parse-args.js';

export const STATUS_HELP = `Usage: keyless-deploy status NAME --namespace NS [--output text|json] [--kubeconfig FILE]

Shows a DeployRequest: phase, message, target and images, who asked, the matched policy,
conditions and timings. Reads through the kubeconfig (operators); app workflows use
dispatch --wait instead.

Exit codes: 0 Succeeded, 3 Denied or Rejected, 4 Failed or RolledBack, 6 Superseded,
7 still in progress, 1 not found or API error, 2 usage error.

Example:
  keyless-deploy status web-7gq2x -n shop
`;

const CODES: Record<string, number> = {
  Succeeded: 0,
  Denied: 3,
  Rejected: 3,
  Failed: 4,
  RolledBack: 4,
  Superseded: 6,
};

/** Run the status command. */
export async function statusCommand(args: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    namespace: { type: 'string', short: 'n' },
    output: { type: 'string', short: 'o' },
    kubeconfig: { type: 'string' },
  });
  if (values.help) {
    io.stdout(STATUS_HELP);
    return EXIT.ok;
  }
  const { name, namespace } = namedRequest(positionals, values);
  const output = (values.output as string | undefined) ?? 'text';
  if (output !== 'text' && output !== 'json') throw new UsageError('--output must be text or json');
  const kube = createKubeClient(values.kubeconfig ? { kubeconfigPath: values.kubeconfig as string } : {});
  const request = await kube.get<DeployRequest & KubeObject>(RESOURCE_TYPES.deployRequests, namespace, name);
  if (!request) {
    io.stderr(`keyless-deploy status: deployrequest ${namespace}/${name} not found\n`);
    return EXIT.failure;
  }
  const status = request.status ?? {};
  const phase = status.phase ?? 'Pending';
  if (output === 'json') {
    io.stdout(
      `${JSON.stringify({ namespace, name, spec: { ...request.spec, source: { ...request.spec.source, attestation: request.spec.source.attestation ? '(present)' : undefined } }, status }, null, 2)}\n`,
    );
  } else {
    const lines = [
      `${namespace}/${name}: ${phase}${status.message ? ` - ${status.message}` : ''}`,
      `  target:   ${request.spec.target.kind}/${request.spec.target.name}`,
      `  images:   ${request.spec.images.map((i) => `${i.container}=${i.image}`).join(', ')}`,
      `  source:   ${request.spec.source.type}${request.spec.source.github ? ` ${request.spec.source.github.repository} (${request.spec.source.github.ref ?? ''})` : ''}`,
      ...(status.matchedPolicy ? [`  policy:   ${status.matchedPolicy}`] : []),
      ...(status.previousImages
        ? [`  previous: ${status.previousImages.map((i) => `${i.container}=${i.image}`).join(', ')}`]
        : []),
      ...(status.requestedBy ? [`  by:       ${status.requestedBy}`] : []),
      ...(status.startedAt ? [`  started:  ${status.startedAt}`] : []),
      ...(status.rollbackStartedAt ? [`  rollback: ${status.rollbackStartedAt}`] : []),
      ...(status.completedAt ? [`  finished: ${status.completedAt}`] : []),
      ...(status.conditions ?? []).map(
        (c) => `  ${c.type.padEnd(12)} ${c.status.padEnd(7)} ${c.reason}: ${c.message}`,
      ),
    ];
    io.stdout(`${lines.join('\n')}\n`);
  }
  return CODES[phase] ?? 7;
}
