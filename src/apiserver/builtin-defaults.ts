/**
 * The defaults kube-apiserver fills into built-in kinds on every write (the `SetDefaults_*`
 * functions of k8s.io/api and the create strategies), for the kinds this server serves and the
 * fields kubectl and this project read: workload specs, pod templates and containers, Job selectors,
 * Secret types, the namespace name label, admission policies. Only absent values are filled, as the real defaulting does.
 */
import { defaultAdmissionObject } from './admission/admission-objects.js';
import type { ResourceDefinition } from './resource-registry.js';

type Json = Record<string, unknown>;

function object(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function setDefault(target: Json, field: string, value: unknown): void {
  if (target[field] === undefined || target[field] === null || target[field] === '') target[field] = value;
}

/** `Always` for `:latest` or untagged images (without a digest), else `IfNotPresent`. */
function pullPolicy(image: unknown): string {
  const reference = String(image ?? '');
  if (reference.includes('@')) return 'IfNotPresent';
  const lastSlash = reference.lastIndexOf('/');
  const colon = reference.lastIndexOf(':');
  const tag = colon > lastSlash ? reference.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultContainers(containers: unknown): void {
  if (!Array.isArray(containers)) return;
  for (const entry of containers) {
    const container = object(entry);
    if (!container) continue;
    setDefault(container, 'terminationMessagePath', '/dev/termination-log');
    setDefault(container, 'terminationMessagePolicy', 'File');
    setDefault(container, 'imagePullPolicy', pullPolicy(container.image));
    // A struct field: Go's JSON writes it as {} even when empty.
    if (container.resources === undefined) container.resources = {};
    for (const port of Array.isArray(container.ports) ? container.ports : []) {
      const portObject = object(port);
      if (portObject) setDefault(portObject, 'protocol', 'TCP');
    }
    for (const variable of Array.isArray(container.env) ? container.env : []) {
      const fieldRef = object(object(object(variable)?.valueFrom)?.fieldRef);
      if (fieldRef) setDefault(fieldRef, 'apiVersion', 'v1');
    }
  }
}

/** SetDefaults_PodSpec and SetDefaults_Container. */
function defaultPodSpec(value: unknown): void {
  const spec = object(value);
  if (!spec) return;
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  setDefault(spec, 'schedulerName', 'default-scheduler');
  defaultContainers(spec.initContainers);
  defaultContainers(spec.containers);
}

function defaultTemplate(spec: Json): void {
  defaultPodSpec(object(spec.template)?.spec);
}

/** SetDefaults_Job, plus the selector and labels the Job strategy generates from the uid. */
function defaultJobSpec(spec: Json, job?: { name: string; uid: string }): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  setDefault(spec, 'parallelism', 1);
  setDefault(spec, 'backoffLimit', spec.backoffLimitPerIndex === undefined ? 6 : 2147483647);
  setDefault(spec, 'completionMode', 'NonIndexed');
  setDefault(spec, 'suspend', false);
  setDefault(
    spec,
    'podReplacementPolicy',
    spec.podFailurePolicy === undefined ? 'TerminatingOrFailed' : 'Failed',
  );
  if (job && spec.manualSelector !== true && spec.selector === undefined) {
    spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': job.uid } };
    const template = object(spec.template) ?? {};
    const metadata = object(template.metadata) ?? {};
    metadata.labels = {
      ...(object(metadata.labels) ?? {}),
      'batch.kubernetes.io/controller-uid': job.uid,
      'batch.kubernetes.io/job-name': job.name,
      'controller-uid': job.uid,
      'job-name': job.name,
    };
    template.metadata = metadata;
    spec.template = template;
  }
  defaultTemplate(spec);
}

/** Fill in the defaults the real API server sets on `object` of `resource` (built-in kinds only). */
export function defaultBuiltin(resource: ResourceDefinition, target: Json, created = false): void {
  if (resource.crd) return;
  defaultAdmissionObject(resource, target);
  const spec = object(target.spec);
  const metadata = object(target.metadata) ?? {};
  switch (`${resource.group}/${resource.kind}`) {
    case 'apps/Deployment':
      if (!spec) return;
      setDefault(spec, 'replicas', 1);
      setDefault(spec, 'revisionHistoryLimit', 10);
      setDefault(spec, 'progressDeadlineSeconds', 600);
      spec.strategy = object(spec.strategy) ?? {};
      setDefault(spec.strategy as Json, 'type', 'RollingUpdate');
      if ((spec.strategy as Json).type === 'RollingUpdate') {
        const rollingUpdate = object((spec.strategy as Json).rollingUpdate) ?? {};
        setDefault(rollingUpdate, 'maxUnavailable', '25%');
        setDefault(rollingUpdate, 'maxSurge', '25%');
        (spec.strategy as Json).rollingUpdate = rollingUpdate;
      }
      return defaultTemplate(spec);
    case 'apps/StatefulSet':
      if (!spec) return;
      setDefault(spec, 'replicas', 1);
      setDefault(spec, 'revisionHistoryLimit', 10);
      setDefault(spec, 'podManagementPolicy', 'OrderedReady');
      setDefault(spec, 'updateStrategy', { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
      setDefault(spec, 'persistentVolumeClaimRetentionPolicy', {
        whenDeleted: 'Retain',
        whenScaled: 'Retain',
      });
      return defaultTemplate(spec);
    case 'apps/DaemonSet':
      if (!spec) return;
      setDefault(spec, 'revisionHistoryLimit', 10);
      setDefault(spec, 'updateStrategy', {
        type: 'RollingUpdate',
        rollingUpdate: { maxUnavailable: 1, maxSurge: 0 },
      });
      return defaultTemplate(spec);
    case 'apps/ReplicaSet':
      if (!spec) return;
      setDefault(spec, 'replicas', 1);
      return defaultTemplate(spec);
    case 'batch/Job':
      if (!spec) return;
      return defaultJobSpec(
        spec,
        created ? { name: String(metadata.name ?? ''), uid: String(metadata.uid ?? '') } : undefined,
      );
    case 'batch/CronJob': {
      if (!spec) return;
      setDefault(spec, 'concurrencyPolicy', 'Allow');
      setDefault(spec, 'suspend', false);
      setDefault(spec, 'successfulJobsHistoryLimit', 3);
      setDefault(spec, 'failedJobsHistoryLimit', 1);
      const jobTemplate = object(spec.jobTemplate);
      // ObjectMeta is a struct: written as {} when empty, in the job template and its pod template.
      if (jobTemplate && jobTemplate.metadata === undefined) jobTemplate.metadata = {};
      const jobSpec = object(jobTemplate?.spec);
      const podTemplate = object(jobSpec?.template);
      if (podTemplate && podTemplate.metadata === undefined) podTemplate.metadata = {};
      if (jobSpec) defaultTemplate(jobSpec);
      return;
    }
    case '/Pod':
      defaultPodSpec(spec);
      if (spec) setDefault(spec, 'enableServiceLinks', true);
      return;
    case '/Secret': {
      setDefault(target, 'type', 'Opaque');
      // stringData is write-only: merged into data (base64), never stored.
      const stringData = object(target.stringData);
      if (stringData) {
        const data = object(target.data) ?? {};
        for (const [key, value] of Object.entries(stringData))
          data[key] = Buffer.from(String(value), 'utf8').toString('base64');
        target.data = data;
        delete target.stringData;
      }
      return;
    }
    case '/Event':
      // Fields of the other Event version, written by the conversion every real server stores through.
      if (!('eventTime' in target)) target.eventTime = null;
      setDefault(target, 'reportingComponent', '');
      setDefault(target, 'reportingInstance', '');
      return;
    case 'events.k8s.io/Event':
      if (!('deprecatedFirstTimestamp' in target)) target.deprecatedFirstTimestamp = null;
      if (!('deprecatedLastTimestamp' in target)) target.deprecatedLastTimestamp = null;
      if (target.deprecatedSource === undefined) target.deprecatedSource = {};
      return;
    case '/Namespace':
      target.metadata = {
        ...metadata,
        labels: { ...(object(metadata.labels) ?? {}), 'kubernetes.io/metadata.name': metadata.name },
      };
      return;
    default:
  }
}
