/**
 * The policy functions the receiver tests inject. Stand-in until `src/policy` lands: a small,
 * strict subset (repositoryId/repository subjects, exact targets and containers, image repositories,
 * requireDigest, environments) with the same decision shape. Swap to `src/policy/index.js` then.
 */
import type { DeployPolicy } from '../../../src/api/types.js';
import type { ImageReferenceParser, PolicyEvaluator } from '../../../src/receiver/index.js';

export const parseImageReference: ImageReferenceParser = (reference) => {
  const match =
    /^(?:((?:[a-zA-Z0-9-]+\.)+[a-zA-Z0-9-]+(?::\d+)?|localhost(?::\d+)?)\/)?([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(
      reference,
    );
  if (!match) throw new Error(`'${reference}' is not an image reference`);
  const registry = match[1] ?? 'docker.io';
  const path = match[2]!;
  return {
    registry,
    repository: registry === 'docker.io' && !path.includes('/') ? `library/${path}` : path,
    ...(match[3] ? { tag: match[3] } : {}),
    ...(match[4] ? { digest: match[4] } : {}),
  };
};

export const evaluatePolicies: PolicyEvaluator = ({ spec, source, policies }) => {
  const reasons: Array<{ policy?: string; condition: string; message: string }> = [];
  if (policies.length === 0)
    return { allowed: false, reasons: [{ condition: 'policy', message: 'no DeployPolicy' }] };
  for (const policy of policies as DeployPolicy[]) {
    const name = policy.metadata.name;
    const identity = source.identity;
    const subjectOk = (policy.spec.subjects ?? []).some(
      (s) =>
        (!s.repositoryId || s.repositoryId === identity?.repositoryId) &&
        (!s.repository || s.repository === identity?.repository) &&
        (!s.ref || s.ref === identity?.ref),
    );
    if (!subjectOk) {
      reasons.push({
        policy: name,
        condition: 'subjects',
        message: `no subject matches ${identity?.repository}`,
      });
      continue;
    }
    const target = policy.spec.targets.find(
      (t) => t.kind === spec.target.kind && t.name === spec.target.name,
    );
    if (!target) {
      reasons.push({
        policy: name,
        condition: 'targets',
        message: `${spec.target.kind}/${spec.target.name} is not a target`,
      });
      continue;
    }
    const badContainer = spec.images.find(
      (i) => !target.containers.includes('*') && !target.containers.includes(i.container),
    );
    if (badContainer) {
      reasons.push({
        policy: name,
        condition: 'containers',
        message: `container ${badContainer.container} is not allowed`,
      });
      continue;
    }
    const badImage = spec.images.find((i) => {
      const ref = parseImageReference(i.image);
      return (
        !policy.spec.images.repositories.includes(`${ref.registry}/${ref.repository}`) ||
        (policy.spec.images.requireDigest && !ref.digest)
      );
    });
    if (badImage) {
      reasons.push({ policy: name, condition: 'images', message: `image ${badImage.image} is not allowed` });
      continue;
    }
    if (
      policy.spec.environments &&
      (!spec.environment || !policy.spec.environments.includes(spec.environment))
    ) {
      reasons.push({
        policy: name,
        condition: 'environment',
        message: `environment ${spec.environment} is not allowed`,
      });
      continue;
    }
    return { allowed: true, policy };
  }
  return { allowed: false, reasons };
};
