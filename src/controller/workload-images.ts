/**
 * Reading and setting container images of the four workload kinds, and the strategic merge patch
 * that sets only the named containers' images plus an annotation naming the DeployRequest (so a
 * restarted controller can tell that its patch already happened).
 */
import type { ContainerImage, WorkloadKind } from '../api/types.js';
import type { KubeObject } from '../kube/kube-client.js';

type Json = Record<string, unknown>;

/**
 * The pod spec of a workload of `kind` (given by the request, not read from the object: list
 * answers may leave `kind` out of their items).
 */
function podSpec(workload: KubeObject, kind: WorkloadKind): Json | undefined {
  const spec = workload.spec as Json | undefined;
  if (!spec) return undefined;
  const template =
    kind === 'CronJob'
      ? (((spec.jobTemplate as Json | undefined)?.spec as Json | undefined)?.template as Json | undefined)
      : (spec.template as Json | undefined);
  return template?.spec as Json | undefined;
}

/** Images of every container (init containers excluded), by container name. */
export function currentImages(workload: KubeObject, kind: WorkloadKind): Map<string, string> {
  const containers = (podSpec(workload, kind)?.containers ?? []) as Json[];
  return new Map(containers.map((container) => [String(container.name), String(container.image)]));
}

/** Containers named in `images` that the workload does not have. */
export function missingContainers(
  workload: KubeObject,
  images: ContainerImage[],
  kind: WorkloadKind,
): string[] {
  const current = currentImages(workload, kind);
  return images.map((i) => i.container).filter((name) => !current.has(name));
}

/** Does the workload already run exactly these images? */
export function runsImages(workload: KubeObject, images: ContainerImage[], kind: WorkloadKind): boolean {
  const current = currentImages(workload, kind);
  return images.every((entry) => current.get(entry.container) === entry.image);
}

/** The strategic merge patch that sets the images and the marker annotation. */
export function imagePatch(
  kind: WorkloadKind,
  images: ContainerImage[],
  annotations: Record<string, string>,
): Json {
  const containers = images.map(({ container, image }) => ({ name: container, image }));
  const template = { spec: { containers } };
  const spec = kind === 'CronJob' ? { jobTemplate: { spec: { template } } } : { template };
  return { metadata: { annotations }, spec };
}
