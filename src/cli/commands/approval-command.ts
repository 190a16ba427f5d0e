/**
 * `keyless-deploy approve|reject NAME`: record a human decision on a DeployRequest that waits for
 * approval, under the caller's own Kubernetes identity. The identity is the API server's answer
 * to a SelfSubjectReview (what `kubectl auth whoami` shows), never a name the caller types: the
 * cluster's admission policy refuses an annotation naming anyone else, and the controller counts
 * only approvers of the request's policy.
 */
import { ANNOTATIONS, TERMINAL_PHASES, type DeployPolicy, type DeployRequest } from '../../api/types.js';
import { isKubeError, type KubeClient, type KubeObject } from '../../kube/kube-client.js';
import {
  createKubeClient,
  KubeConfigNotFoundError,
  kubeServerUrl,
  type KubeConnectionOptions,
} from '../../kube/load-kube-config.js';
import { RESOURCE_TYPES } from '../../kube/resource-types.js';
import { approverIdentity, describeApprover, describeApprovers } from '../../policy/index.js';
import { EXIT, UsageError, type CliIo } from '../cli-io.js';
import { namedRequest } from '../named-request.js';
import { parseFlags } from '../parse-args.js';

/** Exit code when the decision is refused (not an approver, or nothing to decide). */
export const EXIT_REFUSED = 3;

type Verb = 'approve' | 'reject';

const help = (verb: Verb): string => {
  const [byKey, groupKey] =
    verb === 'approve'
      ? [ANNOTATIONS.approvedBy, ANNOTATIONS.approvedByGroup]
      : [ANNOTATIONS.rejectedBy, ANNOTATIONS.rejectedByGroup];
  return `Usage: keyless-deploy ${verb} NAME --namespace NS [--kubeconfig FILE]

${verb === 'approve' ? 'Approves' : 'Rejects'} a DeployRequest that waits for approval (phase WaitingForApproval), as
you: the Kubernetes user the API server authenticates you as (what 'kubectl auth whoami' shows).
There is no option to name someone else.

Before writing anything it reads the request and the DeployPolicy that admitted it, and refuses
(exit 3, nothing changed) when the request has finished, when it does not wait for approval, or
when you are not one of the policy's approval.approvers (user names, and groups written
group:NAME; an empty list admits any user). Then it sets the annotation ${byKey}=YOU, and
${groupKey}=GROUP when a group of yours is what makes you an approver.

The cluster's ValidatingAdmissionPolicy keyless-deploy-approvals (shipped by the chart) refuses
these annotations when they name anyone but the writer, and the controller counts an approval
or rejection only while that policy is installed as shipped. ${verb === 'approve' ? 'An approval lets the deploy go on.' : 'A rejection by an approver ends the request as Rejected.'}
You need RBAC to get DeployRequests and DeployPolicies and to patch DeployRequests.

Options:
  -n, --namespace NS     Namespace of the DeployRequest (required)
  --kubeconfig FILE      Kubeconfig (default: KUBECONFIG, ~/.kube/config, in-cluster); an as:
                         user in it (impersonation) is who you are
  -h, --help             Show this help

Exit codes: 0 recorded, 1 not found or API error, 2 usage error or no kubeconfig,
3 refused (finished, not waiting for approval, or you are not an approver).

Example:
  keyless-deploy ${verb} web-7gq2x -n shop
`;
};

export const APPROVE_HELP = help('approve');
export const REJECT_HELP = help('reject');

type Request = DeployRequest & KubeObject;

/** A refusal: message for stderr, exit code. */
class Refusal extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT_REFUSED,
  ) {
    super(message);
  }
}

/** The caller, as the API server authenticates them (authentication.k8s.io/v1 SelfSubjectReview). */
async function whoAmI(kube: KubeClient): Promise<{ username: string; groups: string[] }> {
  let review: KubeObject;
  try {
    review = await kube.create<KubeObject>(RESOURCE_TYPES.selfSubjectReviews, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'SelfSubjectReview',
      metadata: {},
    });
  } catch (error) {
    if (isKubeError(error, 404))
      throw new Refusal(
        'the API server does not answer authentication.k8s.io/v1 SelfSubjectReview (Kubernetes >= 1.28; approvals need >= 1.30), so it cannot tell who you are',
        EXIT.failure,
      );
    throw error;
  }
  const user = ((review.status as Record<string, unknown> | undefined)?.userInfo ?? {}) as {
    username?: string;
    groups?: string[];
  };
  if (!user.username)
    throw new Refusal(
      'the API server did not say who you are (SelfSubjectReview without a username)',
      EXIT.failure,
    );
  return { username: user.username, groups: user.groups ?? [] };
}

/** Read the request and its policy, and refuse unless `user` may decide it now. */
async function checkDecision(
  kube: KubeClient,
  namespace: string,
  name: string,
  user: { username: string; groups: string[] },
): Promise<{ request: Request; by: { user: string; group?: string } }> {
  const request = await kube.get<Request>(RESOURCE_TYPES.deployRequests, namespace, name);
  if (!request) throw new Refusal(`deployrequest ${namespace}/${name} not found`, EXIT.failure);
  const phase = request.status?.phase;
  if (phase && TERMINAL_PHASES.includes(phase))
    throw new Refusal(
      `deployrequest ${namespace}/${name} has finished (phase ${phase}): there is nothing to decide`,
    );
  if (phase !== 'WaitingForApproval')
    throw new Refusal(
      `deployrequest ${namespace}/${name} does not wait for approval (phase ${phase ?? 'Pending'}${phase ? '' : ': the controller has not looked at it yet'})`,
    );
  const policyName = request.status?.matchedPolicy;
  const policy = policyName
    ? await kube.get<DeployPolicy & KubeObject>(RESOURCE_TYPES.deployPolicies, namespace, policyName)
    : undefined;
  if (!policy)
    throw new Refusal(
      `the DeployPolicy that admitted deployrequest ${namespace}/${name} (${policyName ?? 'none recorded'}) no longer exists`,
    );
  if (!policy.spec.approval?.required)
    throw new Refusal(
      `DeployPolicy ${policyName} no longer requires approval: the controller will go on without it`,
    );
  const approvers = policy.spec.approval.approvers;
  const by = approverIdentity(approvers, user);
  if (!by)
    throw new Refusal(
      `you (${user.username}${user.groups.length ? `, groups ${user.groups.join(', ')}` : ''}) are not an approver of deployrequest ${namespace}/${name}: DeployPolicy ${policyName} names ${describeApprovers(approvers)}`,
    );
  return { request, by };
}

/** Make the approve or reject command. */
export function approvalCommand(verb: Verb) {
  return async (args: string[], io: CliIo): Promise<number> => {
    const { values, positionals } = parseFlags(args, {
      namespace: { type: 'string', short: 'n' },
      kubeconfig: { type: 'string' },
      by: { type: 'string' },
    });
    if (values.help) {
      io.stdout(help(verb));
      return EXIT.ok;
    }
    if (values.by !== undefined)
      throw new UsageError(
        `--by is gone: the decision is recorded under your own Kubernetes user (kubectl auth whoami); to ${verb} as someone else, they run the command`,
      );
    const { name, namespace } = namedRequest(positionals, values);
    const connection: KubeConnectionOptions = {
      ...(values.kubeconfig ? { kubeconfigPath: values.kubeconfig as string } : {}),
      env: io.env,
    };
    let kube: KubeClient;
    try {
      kube = createKubeClient(connection);
    } catch (error) {
      if (error instanceof KubeConfigNotFoundError) throw new UsageError(error.message);
      throw error;
    }
    try {
      const user = await whoAmI(kube);
      const { request, by } = await checkDecision(kube, namespace, name, user);
      const [byKey, groupKey] =
        verb === 'approve'
          ? [ANNOTATIONS.approvedBy, ANNOTATIONS.approvedByGroup]
          : [ANNOTATIONS.rejectedBy, ANNOTATIONS.rejectedByGroup];
      // The resourceVersion read makes the write conditional: a request that moved on meanwhile is a conflict.
      await kube.patch<Request>(
        RESOURCE_TYPES.deployRequests,
        namespace,
        name,
        {
          metadata: {
            resourceVersion: request.metadata.resourceVersion,
            annotations: { [byKey]: by.user, [groupKey]: by.group ?? null },
          },
        },
        'merge',
        { fieldManager: 'keyless-deploy-cli' },
      );
      io.stdout(
        `deployrequest ${namespace}/${name} ${verb === 'approve' ? 'approved' : 'rejected'} by ${describeApprover(by)}; the controller ${verb === 'approve' ? 'deploys it next (keyless-deploy status to follow)' : 'ends it as Rejected'}\n`,
      );
      return EXIT.ok;
    } catch (error) {
      if (error instanceof Refusal) {
        io.stderr(`keyless-deploy ${verb}: ${error.message}\n`);
        return error.code;
      }
      const message = isKubeError(error, 409)
        ? `deployrequest ${namespace}/${name} changed while deciding; run the command again`
        : isKubeError(error, 0)
          ? `cannot reach the Kubernetes API at ${kubeServerUrl(connection) ?? 'the configured server'}: ${(error as Error).message.replace(/^cannot reach the Kubernetes API: /, '')}`
          : (error as Error).message;
      io.stderr(`keyless-deploy ${verb}: ${message}\n`);
      return EXIT.failure;
    }
  };
}
