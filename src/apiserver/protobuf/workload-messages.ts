/**
 * Field tables of the workload messages kubectl's generators send (k8s.io/api `apps/v1`, `batch/v1`
 * and `policy/v1` `generated.proto` of Kubernetes 1.36): Deployment, Job, CronJob and
 * PodDisruptionBudget. Their status is dropped on writes (a status subresource), so it is only
 * checked for framing.
 */
import { POD_TEMPLATE_SPEC } from './core-v1-messages.js';
import { LABEL_SELECTOR, METADATA, OBJECT_META } from './meta-v1-messages.js';
import { field, message, of, type MessageSchema } from './message-schema.js';

const STATUS = field(3, 'status', 'ignored');
const TEMPLATE = (number: number): ReturnType<typeof field> =>
  field(
    number,
    'template',
    of(() => POD_TEMPLATE_SPEC),
    { go: 'value' },
  );

const ROLLING_UPDATE_DEPLOYMENT: MessageSchema = message('k8s.io.api.apps.v1.RollingUpdateDeployment', [
  field(1, 'maxUnavailable', 'intOrString', { go: 'pointer' }),
  field(2, 'maxSurge', 'intOrString', { go: 'pointer' }),
]);

const DEPLOYMENT_STRATEGY: MessageSchema = message('k8s.io.api.apps.v1.DeploymentStrategy', [
  field(1, 'type', 'string'),
  field(
    2,
    'rollingUpdate',
    of(() => ROLLING_UPDATE_DEPLOYMENT),
    { go: 'pointer' },
  ),
]);

const DEPLOYMENT_SPEC: MessageSchema = message('k8s.io.api.apps.v1.DeploymentSpec', [
  field(1, 'replicas', 'int32', { go: 'pointer' }),
  // `*metav1.LabelSelector json:"selector"` (no omitempty): null when absent.
  field(
    2,
    'selector',
    of(() => LABEL_SELECTOR),
    { go: 'nullable' },
  ),
  TEMPLATE(3),
  field(
    4,
    'strategy',
    of(() => DEPLOYMENT_STRATEGY),
    { go: 'value' },
  ),
  field(5, 'minReadySeconds', 'int32'),
  field(6, 'revisionHistoryLimit', 'int32', { go: 'pointer' }),
  field(7, 'paused', 'bool'),
  field(9, 'progressDeadlineSeconds', 'int32', { go: 'pointer' }),
]);

export const DEPLOYMENT: MessageSchema = message('k8s.io.api.apps.v1.Deployment', [
  METADATA,
  field(
    2,
    'spec',
    of(() => DEPLOYMENT_SPEC),
    { go: 'value' },
  ),
  STATUS,
]);

const JOB_SPEC: MessageSchema = message('k8s.io.api.batch.v1.JobSpec', [
  field(1, 'parallelism', 'int32', { go: 'pointer' }),
  field(2, 'completions', 'int32', { go: 'pointer' }),
  field(3, 'activeDeadlineSeconds', 'int64', { go: 'pointer' }),
  field(11, 'podFailurePolicy', 'unsupported'),
  field(16, 'successPolicy', 'unsupported'),
  field(7, 'backoffLimit', 'int32', { go: 'pointer' }),
  field(12, 'backoffLimitPerIndex', 'int32', { go: 'pointer' }),
  field(13, 'maxFailedIndexes', 'int32', { go: 'pointer' }),
  field(
    4,
    'selector',
    of(() => LABEL_SELECTOR),
    { go: 'pointer' },
  ),
  field(5, 'manualSelector', 'bool', { go: 'pointer' }),
  TEMPLATE(6),
  field(8, 'ttlSecondsAfterFinished', 'int32', { go: 'pointer' }),
  field(9, 'completionMode', 'string', { go: 'pointer' }),
  field(10, 'suspend', 'bool', { go: 'pointer' }),
  field(14, 'podReplacementPolicy', 'string', { go: 'pointer' }),
  field(15, 'managedBy', 'string', { go: 'pointer' }),
]);

export const JOB: MessageSchema = message('k8s.io.api.batch.v1.Job', [
  METADATA,
  field(
    2,
    'spec',
    of(() => JOB_SPEC),
    { go: 'value' },
  ),
  STATUS,
]);

const JOB_TEMPLATE_SPEC: MessageSchema = message('k8s.io.api.batch.v1.JobTemplateSpec', [
  field(
    1,
    'metadata',
    of(() => OBJECT_META),
    { go: 'value' },
  ),
  field(
    2,
    'spec',
    of(() => JOB_SPEC),
    { go: 'value' },
  ),
]);

const CRON_JOB_SPEC: MessageSchema = message('k8s.io.api.batch.v1.CronJobSpec', [
  field(1, 'schedule', 'string', { go: 'always' }),
  field(8, 'timeZone', 'string', { go: 'pointer' }),
  field(2, 'startingDeadlineSeconds', 'int64', { go: 'pointer' }),
  field(3, 'concurrencyPolicy', 'string'),
  field(4, 'suspend', 'bool', { go: 'pointer' }),
  field(
    5,
    'jobTemplate',
    of(() => JOB_TEMPLATE_SPEC),
    { go: 'value' },
  ),
  field(6, 'successfulJobsHistoryLimit', 'int32', { go: 'pointer' }),
  field(7, 'failedJobsHistoryLimit', 'int32', { go: 'pointer' }),
]);

export const CRON_JOB: MessageSchema = message('k8s.io.api.batch.v1.CronJob', [
  METADATA,
  field(
    2,
    'spec',
    of(() => CRON_JOB_SPEC),
    { go: 'value' },
  ),
  STATUS,
]);

const POD_DISRUPTION_BUDGET_SPEC: MessageSchema = message('k8s.io.api.policy.v1.PodDisruptionBudgetSpec', [
  field(1, 'minAvailable', 'intOrString', { go: 'pointer' }),
  field(
    2,
    'selector',
    of(() => LABEL_SELECTOR),
    { go: 'pointer' },
  ),
  field(3, 'maxUnavailable', 'intOrString', { go: 'pointer' }),
  field(4, 'unhealthyPodEvictionPolicy', 'string', { go: 'pointer' }),
]);

export const POD_DISRUPTION_BUDGET: MessageSchema = message('k8s.io.api.policy.v1.PodDisruptionBudget', [
  METADATA,
  field(
    2,
    'spec',
    of(() => POD_DISRUPTION_BUDGET_SPEC),
    { go: 'value' },
  ),
  STATUS,
]);
