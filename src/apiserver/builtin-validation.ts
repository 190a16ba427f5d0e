/**
 * Defaulting and light validation of built-in kinds. A real API server validates every field of
 * every built-in kind; this one checks what this project and its tests rely on (workload shape,
 * container names and images, replica counts) and documents the rest as a known difference.
 */
import type { ResourceDefinition } from './resource-registry.js';
import { validateAdmissionObject } from './admission/admission-objects.js';
import type { StatusCause } from './status-error.js';

type Json = Record<string, unknown>;

function podSpecPath(kind: string): string[] | undefined {
  switch (kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return ['spec', 'template', 'spec'];
    case 'CronJob':
      return ['spec', 'jobTemplate', 'spec', 'template', 'spec'];
    case 'Pod':
      return ['spec'];
    default:
      return undefined;
  }
}

function at(object: Json, path: string[]): unknown {
  let current: unknown = object;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Json)[key];
  }
  return current;
}

/** Field causes for a built-in object (empty when valid). */
export function validateBuiltin(resource: ResourceDefinition, object: Json): StatusCause[] {
  const causes: StatusCause[] = [...validateAdmissionObject(resource, object)];
  const path = podSpecPath(resource.kind);
  if (path && ['apps', 'batch', ''].includes(resource.group)) {
    if (resource.kind !== 'Pod' && (object.spec === undefined || typeof object.spec !== 'object')) {
      return [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec' }];
    }
    const containers = at(object, [...path, 'containers']);
    const field = `${path.join('.')}.containers`;
    if (!Array.isArray(containers) || containers.length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
    } else {
      const names = new Set<string>();
      containers.forEach((container: unknown, index) => {
        const c = (container ?? {}) as Json;
        const name = c.name;
        if (typeof name !== 'string' || name === '') {
          causes.push({
            reason: 'FieldValueRequired',
            message: 'Required value',
            field: `${field}[${index}].name`,
          });
        } else if (names.has(name)) {
          causes.push({
            reason: 'FieldValueDuplicate',
            message: `Duplicate value: "${name}"`,
            field: `${field}[${index}].name`,
          });
        } else {
          names.add(name);
        }
        if (typeof c.image !== 'string' || c.image.trim() === '') {
          causes.push({
            reason: 'FieldValueRequired',
            message: 'Required value',
            field: `${field}[${index}].image`,
          });
        } else if (c.image !== c.image.trim()) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${c.image}": must not have leading or trailing whitespace`,
            field: `${field}[${index}].image`,
          });
        }
      });
    }
    const replicas = (object.spec as Json | undefined)?.replicas;
    if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        field: 'spec.replicas',
      });
    }
    if (
      ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(resource.kind) &&
      resource.group === 'apps'
    ) {
      const selector = (object.spec as Json).selector as Json | undefined;
      if (!selector || typeof selector !== 'object') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' });
      } else {
        const labels = (at(object, ['spec', 'template', 'metadata', 'labels']) ?? {}) as Record<
          string,
          string
        >;
        const matchLabels = (selector.matchLabels ?? {}) as Record<string, string>;
        const matches = Object.entries(matchLabels).every(([key, value]) => labels[key] === value);
        if (!matches) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(Object.fromEntries(Object.entries(labels).sort()))}: \`selector\` does not match template \`labels\``,
            field: 'spec.template.metadata.labels',
          });
        }
      }
    }
    if (resource.kind === 'CronJob') {
      const schedule = (object.spec as Json).schedule;
      if (typeof schedule !== 'string' || schedule.trim() === '') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.schedule' });
      }
    }
  }
  if (resource.kind === 'Lease' && object.spec !== undefined) {
    const duration = (object.spec as Json).leaseDurationSeconds;
    if (duration !== undefined && (!Number.isInteger(duration) || (duration as number) <= 0)) {
      causes.push({
        reason: 'FieldValueInvalid',
        message: `Invalid value: ${JSON.stringify(duration)}: must be greater than 0`,
        field: 'spec.leaseDurationSeconds',
      });
    }
  }
  return causes;
}
