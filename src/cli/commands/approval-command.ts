/** `keyless-deploy approve|reject NAME`: record a human decision on a gated DeployRequest. */
import { ANNOTATIONS, type DeployRequest } from '../../api/types.js';
import { isKubeError, type KubeObject } from '../../kube/kube-client.js';
import { createKubeClient } from '../../kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../kube/resource-types.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { namedRequest } from '../named-request.js';
import { parseFlags } from '../parse-args.js';

const help = (
  verb: 'approve' | 'reject',
): string => `Usage: keyless-deploy ${verb} NAME --namespace NS --by WHO [--kubeconfig FILE]

${verb === 'approve' ? 'Approves' : 'Rejects'} a DeployRequest that waits for approval, by setting the annotation
${verb === 'approve' ? ANNOTATIONS.approvedBy : ANNOTATIONS.rejectedBy}=WHO. Only someone whose Kubernetes RBAC allows updating
DeployRequests can do this; a policy's approval.approvers list restricts who counts.

Options:
  -n, --namespace NS     Namespace of the DeployRequest (required)
  --by WHO               Your name as the policy's approvers list spells it (default: $USER)
  --kubeconfig FILE      Kubeconfig (default: KUBECONFIG, in-cluster, ~/.kube/config)
  -h, --help             Show this help

Exit codes: 0 recorded, 1 not found or API error, 2 usage error.

Example:
  keyless-deploy ${verb} web-7gq2x -n shop --by alice
`;

export const APPROVE_HELP = help('approve');
export const REJECT_HELP = help('reject');

/** Make the approve or reject command. */
export function approvalCommand(verb: 'approve' | 'reject') {
  return async (args: string[], io: CliIo): Promise<number> => {
    const { values, positionals } = parseFlags(args, {
      namespace: { type: 'string', short: 'n' },
      by: { type: 'string' },
      kubeconfig: { type: 'string' },
    });
    if (values.help) {
      io.stdout(help(verb));
      return EXIT.ok;
    }
    const { name, namespace } = namedRequest(positionals, values);
    const by = ((values.by as string | undefined) ?? io.env.USER ?? '').trim();
    // eslint-disable-next-line no-control-regex -- control characters are what is refused
    if (!by || by.length > 256 || /[\s\u0000-\u001f]/.test(by))
      throw new UsageError('--by must be a name without spaces (at most 256 characters)');
    const kube = createKubeClient(values.kubeconfig ? { kubeconfigPath: values.kubeconfig as string } : {});
    const annotation = verb === 'approve' ? ANNOTATIONS.approvedBy : ANNOTATIONS.rejectedBy;
    try {
      const request = await kube.patch<DeployRequest & KubeObject>(
        RESOURCE_TYPES.deployRequests,
        namespace,
        name,
        { metadata: { annotations: { [annotation]: by } } },
        'merge',
        { fieldManager: 'keyless-deploy-cli' },
      );
      io.stdout(
        `deployrequest ${namespace}/${name} ${verb === 'approve' ? 'approved' : 'rejected'} by ${by} (phase ${request.status?.phase ?? 'Pending'})\n`,
      );
      return EXIT.ok;
    } catch (error) {
      io.stderr(
        `keyless-deploy ${verb}: ${isKubeError(error, 404) ? `deployrequest ${namespace}/${name} not found` : (error as Error).message}\n`,
      );
      return EXIT.failure;
    }
  };
}
