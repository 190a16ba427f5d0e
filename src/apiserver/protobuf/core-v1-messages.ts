/**
 * Field tables of the core/v1 messages kubectl's generators send (k8s.io/api `core/v1/generated.proto`
 * of Kubernetes 1.36): Namespace, Secret, ConfigMap, ServiceAccount, Service, and the pod template
 * with containers, ports, env, resources and volume mounts. Fields marked `unsupported` (volumes,
 * probes, affinity, security contexts ...) are refused with 415: send those objects as JSON.
 */
import { METADATA, OBJECT_META } from './meta-v1-messages.js';
import { field, list, map, message, of, type MessageSchema } from './message-schema.js';

const CORE = 'k8s.io.api.core.v1';

export const LOCAL_OBJECT_REFERENCE: MessageSchema = message(`${CORE}.LocalObjectReference`, [
  field(1, 'name', 'string'),
]);

/** An embedded LocalObjectReference (`json:",inline"`): its `name` is written into the parent. */
const INLINE_REFERENCE = field(
  1,
  '',
  of(() => LOCAL_OBJECT_REFERENCE),
  { go: 'value' },
);

export const OBJECT_REFERENCE: MessageSchema = message(`${CORE}.ObjectReference`, [
  field(1, 'kind', 'string'),
  field(2, 'namespace', 'string'),
  field(3, 'name', 'string'),
  field(4, 'uid', 'string'),
  field(5, 'apiVersion', 'string'),
  field(6, 'resourceVersion', 'string'),
  field(7, 'fieldPath', 'string'),
]);

const CONTAINER_PORT: MessageSchema = message(`${CORE}.ContainerPort`, [
  field(1, 'name', 'string'),
  field(2, 'hostPort', 'int32'),
  field(3, 'containerPort', 'int32', { go: 'always' }),
  field(4, 'protocol', 'string'),
  field(5, 'hostIP', 'string'),
]);

const OBJECT_FIELD_SELECTOR: MessageSchema = message(`${CORE}.ObjectFieldSelector`, [
  field(1, 'apiVersion', 'string'),
  field(2, 'fieldPath', 'string', { go: 'always' }),
]);

const RESOURCE_FIELD_SELECTOR: MessageSchema = message(`${CORE}.ResourceFieldSelector`, [
  field(1, 'containerName', 'string'),
  field(2, 'resource', 'string', { go: 'always' }),
  field(3, 'divisor', 'quantity', { go: 'value' }),
]);

const KEY_SELECTOR = (name: string): MessageSchema =>
  message(`${CORE}.${name}`, [
    INLINE_REFERENCE,
    field(2, 'key', 'string', { go: 'always' }),
    field(3, 'optional', 'bool', { go: 'pointer' }),
  ]);
const CONFIG_MAP_KEY_SELECTOR = KEY_SELECTOR('ConfigMapKeySelector');
const SECRET_KEY_SELECTOR = KEY_SELECTOR('SecretKeySelector');

const FILE_KEY_SELECTOR: MessageSchema = message(`${CORE}.FileKeySelector`, [
  field(1, 'volumeName', 'string', { go: 'always' }),
  field(2, 'path', 'string', { go: 'always' }),
  field(3, 'key', 'string', { go: 'always' }),
  field(4, 'optional', 'bool', { go: 'pointer' }),
]);

const ENV_VAR_SOURCE: MessageSchema = message(`${CORE}.EnvVarSource`, [
  field(
    1,
    'fieldRef',
    of(() => OBJECT_FIELD_SELECTOR),
    { go: 'pointer' },
  ),
  field(
    2,
    'resourceFieldRef',
    of(() => RESOURCE_FIELD_SELECTOR),
    { go: 'pointer' },
  ),
  field(
    3,
    'configMapKeyRef',
    of(() => CONFIG_MAP_KEY_SELECTOR),
    { go: 'pointer' },
  ),
  field(
    4,
    'secretKeyRef',
    of(() => SECRET_KEY_SELECTOR),
    { go: 'pointer' },
  ),
  field(
    5,
    'fileKeyRef',
    of(() => FILE_KEY_SELECTOR),
    { go: 'pointer' },
  ),
]);

const ENV_VAR: MessageSchema = message(`${CORE}.EnvVar`, [
  field(1, 'name', 'string', { go: 'always' }),
  field(2, 'value', 'string'),
  field(
    3,
    'valueFrom',
    of(() => ENV_VAR_SOURCE),
    { go: 'pointer' },
  ),
]);

const ENV_SOURCE = (name: string): MessageSchema =>
  message(`${CORE}.${name}`, [INLINE_REFERENCE, field(2, 'optional', 'bool', { go: 'pointer' })]);

const ENV_FROM_SOURCE: MessageSchema = message(`${CORE}.EnvFromSource`, [
  field(1, 'prefix', 'string'),
  field(
    2,
    'configMapRef',
    of(() => ENV_SOURCE('ConfigMapEnvSource')),
    { go: 'pointer' },
  ),
  field(
    3,
    'secretRef',
    of(() => ENV_SOURCE('SecretEnvSource')),
    { go: 'pointer' },
  ),
]);

const RESOURCE_CLAIM: MessageSchema = message(`${CORE}.ResourceClaim`, [
  field(1, 'name', 'string', { go: 'always' }),
  field(2, 'request', 'string'),
]);

const RESOURCE_REQUIREMENTS: MessageSchema = message(`${CORE}.ResourceRequirements`, [
  map(1, 'limits', 'quantity'),
  map(2, 'requests', 'quantity'),
  list(
    3,
    'claims',
    of(() => RESOURCE_CLAIM),
  ),
]);

const VOLUME_MOUNT: MessageSchema = message(`${CORE}.VolumeMount`, [
  field(1, 'name', 'string', { go: 'always' }),
  field(2, 'readOnly', 'bool'),
  field(7, 'recursiveReadOnly', 'string', { go: 'pointer' }),
  field(3, 'mountPath', 'string', { go: 'always' }),
  field(4, 'subPath', 'string'),
  field(5, 'mountPropagation', 'string', { go: 'pointer' }),
  field(6, 'subPathExpr', 'string'),
]);

export const CONTAINER: MessageSchema = message(`${CORE}.Container`, [
  field(1, 'name', 'string', { go: 'always' }),
  field(2, 'image', 'string'),
  list(3, 'command', 'string'),
  list(4, 'args', 'string'),
  field(5, 'workingDir', 'string'),
  list(
    6,
    'ports',
    of(() => CONTAINER_PORT),
  ),
  list(
    19,
    'envFrom',
    of(() => ENV_FROM_SOURCE),
  ),
  list(
    7,
    'env',
    of(() => ENV_VAR),
  ),
  field(
    8,
    'resources',
    of(() => RESOURCE_REQUIREMENTS),
    { go: 'value' },
  ),
  list(23, 'resizePolicy', 'unsupported'),
  field(24, 'restartPolicy', 'string', { go: 'pointer' }),
  list(25, 'restartPolicyRules', 'unsupported'),
  list(
    9,
    'volumeMounts',
    of(() => VOLUME_MOUNT),
  ),
  list(21, 'volumeDevices', 'unsupported'),
  field(10, 'livenessProbe', 'unsupported'),
  field(11, 'readinessProbe', 'unsupported'),
  field(22, 'startupProbe', 'unsupported'),
  field(12, 'lifecycle', 'unsupported'),
  field(13, 'terminationMessagePath', 'string'),
  field(20, 'terminationMessagePolicy', 'string'),
  field(14, 'imagePullPolicy', 'string'),
  field(15, 'securityContext', 'unsupported'),
  field(16, 'stdin', 'bool'),
  field(17, 'stdinOnce', 'bool'),
  field(18, 'tty', 'bool'),
]);

export const POD_SPEC: MessageSchema = message(`${CORE}.PodSpec`, [
  list(1, 'volumes', 'unsupported'),
  list(
    20,
    'initContainers',
    of(() => CONTAINER),
  ),
  list(
    2,
    'containers',
    of(() => CONTAINER),
    { go: 'always' },
  ),
  list(34, 'ephemeralContainers', 'unsupported'),
  field(3, 'restartPolicy', 'string'),
  field(4, 'terminationGracePeriodSeconds', 'int64', { go: 'pointer' }),
  field(5, 'activeDeadlineSeconds', 'int64', { go: 'pointer' }),
  field(6, 'dnsPolicy', 'string'),
  map(7, 'nodeSelector', 'string'),
  field(8, 'serviceAccountName', 'string'),
  field(9, 'serviceAccount', 'string'),
  field(21, 'automountServiceAccountToken', 'bool', { go: 'pointer' }),
  field(10, 'nodeName', 'string'),
  field(11, 'hostNetwork', 'bool'),
  field(12, 'hostPID', 'bool'),
  field(13, 'hostIPC', 'bool'),
  field(27, 'shareProcessNamespace', 'bool', { go: 'pointer' }),
  field(14, 'securityContext', 'unsupported'),
  list(
    15,
    'imagePullSecrets',
    of(() => LOCAL_OBJECT_REFERENCE),
  ),
  field(16, 'hostname', 'string'),
  field(17, 'subdomain', 'string'),
  field(18, 'affinity', 'unsupported'),
  field(19, 'schedulerName', 'string'),
  list(22, 'tolerations', 'unsupported'),
  list(23, 'hostAliases', 'unsupported'),
  field(24, 'priorityClassName', 'string'),
  field(25, 'priority', 'int32', { go: 'pointer' }),
  field(26, 'dnsConfig', 'unsupported'),
  list(28, 'readinessGates', 'unsupported'),
  field(29, 'runtimeClassName', 'string', { go: 'pointer' }),
  field(30, 'enableServiceLinks', 'bool', { go: 'pointer' }),
  field(31, 'preemptionPolicy', 'string', { go: 'pointer' }),
  map(32, 'overhead', 'quantity'),
  list(33, 'topologySpreadConstraints', 'unsupported'),
  field(35, 'setHostnameAsFQDN', 'bool', { go: 'pointer' }),
  field(36, 'os', 'unsupported'),
  field(37, 'hostUsers', 'bool', { go: 'pointer' }),
  list(38, 'schedulingGates', 'unsupported'),
  list(39, 'resourceClaims', 'unsupported'),
  field(
    40,
    'resources',
    of(() => RESOURCE_REQUIREMENTS),
    { go: 'pointer' },
  ),
  field(41, 'hostnameOverride', 'string', { go: 'pointer' }),
  field(43, 'schedulingGroup', 'unsupported'),
]);

export const POD_TEMPLATE_SPEC: MessageSchema = message(`${CORE}.PodTemplateSpec`, [
  field(
    1,
    'metadata',
    of(() => OBJECT_META),
    { go: 'value' },
  ),
  field(
    2,
    'spec',
    of(() => POD_SPEC),
    { go: 'value' },
  ),
]);

export const NAMESPACE: MessageSchema = message(`${CORE}.Namespace`, [
  METADATA,
  field(
    2,
    'spec',
    of(() => message(`${CORE}.NamespaceSpec`, [list(1, 'finalizers', 'string')])),
    { go: 'value' },
  ),
  field(3, 'status', 'ignored'),
]);

export const SECRET: MessageSchema = message(`${CORE}.Secret`, [
  METADATA,
  field(5, 'immutable', 'bool', { go: 'pointer' }),
  map(2, 'data', 'bytes'),
  map(4, 'stringData', 'string'),
  field(3, 'type', 'string'),
]);

export const CONFIG_MAP: MessageSchema = message(`${CORE}.ConfigMap`, [
  METADATA,
  field(4, 'immutable', 'bool', { go: 'pointer' }),
  map(2, 'data', 'string'),
  map(3, 'binaryData', 'bytes'),
]);

export const SERVICE_ACCOUNT: MessageSchema = message(`${CORE}.ServiceAccount`, [
  METADATA,
  list(
    2,
    'secrets',
    of(() => OBJECT_REFERENCE),
  ),
  list(
    3,
    'imagePullSecrets',
    of(() => LOCAL_OBJECT_REFERENCE),
  ),
  field(4, 'automountServiceAccountToken', 'bool', { go: 'pointer' }),
]);

const SERVICE_PORT: MessageSchema = message(`${CORE}.ServicePort`, [
  field(1, 'name', 'string'),
  field(2, 'protocol', 'string'),
  field(6, 'appProtocol', 'string', { go: 'pointer' }),
  field(3, 'port', 'int32', { go: 'always' }),
  field(4, 'targetPort', 'intOrString', { go: 'value' }),
  field(5, 'nodePort', 'int32'),
]);

const SERVICE_SPEC: MessageSchema = message(`${CORE}.ServiceSpec`, [
  list(
    1,
    'ports',
    of(() => SERVICE_PORT),
  ),
  map(2, 'selector', 'string'),
  field(3, 'clusterIP', 'string'),
  list(18, 'clusterIPs', 'string'),
  field(4, 'type', 'string'),
  list(5, 'externalIPs', 'string'),
  field(7, 'sessionAffinity', 'string'),
  field(8, 'loadBalancerIP', 'string'),
  list(9, 'loadBalancerSourceRanges', 'string'),
  field(10, 'externalName', 'string'),
  field(11, 'externalTrafficPolicy', 'string'),
  field(12, 'healthCheckNodePort', 'int32'),
  field(13, 'publishNotReadyAddresses', 'bool'),
  field(14, 'sessionAffinityConfig', 'unsupported'),
  list(19, 'ipFamilies', 'string'),
  field(17, 'ipFamilyPolicy', 'string', { go: 'pointer' }),
  field(20, 'allocateLoadBalancerNodePorts', 'bool', { go: 'pointer' }),
  field(21, 'loadBalancerClass', 'string', { go: 'pointer' }),
  field(22, 'internalTrafficPolicy', 'string', { go: 'pointer' }),
  field(23, 'trafficDistribution', 'string', { go: 'pointer' }),
]);

export const SERVICE: MessageSchema = message(`${CORE}.Service`, [
  METADATA,
  field(
    2,
    'spec',
    of(() => SERVICE_SPEC),
    { go: 'value' },
  ),
  field(3, 'status', 'ignored'),
]);
