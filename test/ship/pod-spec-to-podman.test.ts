/**
 * The translator from the chart's pod specs to podman flags (support/pod-spec-to-podman.ts): what
 * each field becomes, and that a field it does not understand fails instead of being dropped.
 */
import { parseAllDocuments } from 'yaml';
import { CHART, helm } from '../support/helm.js';
import {
  UntranslatableFieldError,
  memoryBytes,
  milliCpu,
  podSpecToPodman,
  type Json,
  type PodContext,
} from './support/pod-spec-to-podman.js';

function chartPod(component: 'receiver' | 'controller', values: string[] = []): Json {
  const result = helm(['template', 'kd', CHART, '--namespace', 'keyless-system', ...values]);
  if (result.code !== 0) throw new Error(result.stderr);
  const deployment = parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Json)
    .find((o) => o?.kind === 'Deployment' && (o.metadata as { name: string }).name === `kd-${component}`);
  return (deployment?.spec as { template: { spec: Json } }).template.spec;
}

const volumeDirs: string[] = [];
const context: PodContext = {
  podName: 'kd-controller-abc',
  namespace: 'keyless-system',
  image: 'localhost/keyless-deploy:test',
  imageUser: '65532:65532',
  volumeDir: (volume) => {
    volumeDirs.push(String(volume.name));
    return `/host/${String(volume.name)}`;
  },
  serviceAccountDir: (name) => `/host/sa-${name}`,
  serviceAccountAutomount: () => true,
  keyValue: (kind, name, key) => `${kind}/${name}/${key}`,
  apiServer: { host: 'kubernetes.default.svc', port: 6443 },
  networkFlags: ['--network', 'slirp4netns'],
};

/** The value following each occurrence of `flag`. */
const values = (flags: string[], flag: string): string[] =>
  flags.flatMap((f, i) => (f === flag ? [flags[i + 1] as string] : []));

test("the chart's controller pod becomes podman flags, field by field", () => {
  const t = podSpecToPodman(
    chartPod('controller', ['--set', 'extraCaCertificates.configMap=corp-ca']),
    'controller',
    context,
  );
  expect(t.args).toEqual(['run', '--controller']);
  expect(values(t.flags, '--user')).toEqual(['65532:65532']);
  expect(values(t.flags, '--group-add')).toEqual(['65532']);
  expect(values(t.flags, '--cap-drop')).toEqual(['ALL']);
  expect(values(t.flags, '--security-opt')).toEqual(['no-new-privileges']);
  expect(t.flags).toEqual(expect.arrayContaining(['--read-only', '--read-only-tmpfs=false']));
  expect(values(t.flags, '--memory')).toEqual([String(384 * 2 ** 20)]);
  expect(values(t.flags, '--memory-reservation')).toEqual([String(128 * 2 ** 20)]);
  expect(values(t.flags, '--cpu-shares')).toEqual(['51']);
  expect(values(t.flags, '--stop-timeout')).toEqual(['30']);
  expect(values(t.flags, '--publish')).toEqual(['127.0.0.1::8081/tcp']);
  expect(values(t.flags, '--volume')).toEqual([
    '/host/keys:/keys:ro',
    '/host/tmp:/tmp:rw',
    '/host/extra-ca:/etc/keyless-deploy/ca:ro',
    '/host/sa-kd-controller:/var/run/secrets/kubernetes.io/serviceaccount:ro',
  ]);
  expect(t.env).toMatchObject({
    KUBERNETES_SERVICE_HOST: 'kubernetes.default.svc',
    KUBERNETES_SERVICE_PORT: '6443',
    POD_NAME: 'kd-controller-abc',
    KEYLESS_METRICS_LISTEN: '0.0.0.0:8081',
    NODE_EXTRA_CA_CERTS: '/etc/keyless-deploy/ca/ca.crt',
  });
  expect(t.readinessProbe).toMatchObject({ path: '/readyz', containerPort: 8081, periodSeconds: 5 });
  expect(t.livenessProbe).toMatchObject({ path: '/healthz', containerPort: 8081 });
  expect(t.user).toEqual({ uid: 65532, gid: 65532 });
});

test('env from Secrets goes through the context (the GitHub App id)', () => {
  const pod = chartPod('controller', [
    '--set',
    'github.app.enabled=true',
    '--set',
    'github.app.existingSecret=gh',
  ]);
  const t = podSpecToPodman(pod, 'controller', context);
  expect(t.env.KEYLESS_GITHUB_APP_ID).toBe('Secret/gh/app-id');
});

function withPod(change: (pod: Json, container: Json) => void): Json {
  const pod = structuredClone(chartPod('receiver'));
  change(pod, (pod.containers as Json[])[0] as Json);
  return pod;
}

test.each<[string, (pod: Json, container: Json) => void, string]>([
  ['a pod field', (pod) => (pod.hostNetwork = true), 'spec.hostNetwork: not understood'],
  ['a container field', (_pod, c) => (c.stdin = true), 'spec.containers[receiver].stdin: not understood'],
  [
    'a security context field',
    (_pod, c) => ((c.securityContext as Json).procMount = 'Unmasked'),
    'securityContext.procMount: not understood',
  ],
  [
    'an exec probe',
    (_pod, c) => (c.readinessProbe = { exec: { command: ['true'] } }),
    'readinessProbe.exec: not understood',
  ],
  ['envFrom', (_pod, c) => (c.envFrom = [{ secretRef: { name: 'x' } }]), 'envFrom: not understood'],
  [
    'a sidecar',
    (pod) => (pod.containers as Json[]).push({ name: 'sidecar', image: 'x' }),
    'more than one container',
  ],
  [
    'a downward API field other than the pod name or namespace',
    (_pod, c) =>
      (c.env as Json[]).push({ name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }),
    'fieldPath: spec.nodeName',
  ],
  [
    'a Localhost seccomp profile',
    (pod) => ((pod.securityContext as Json).seccompProfile = { type: 'Localhost', localhostProfile: 'x' }),
    'seccompProfile.localhostProfile: not understood',
  ],
  ['a UDP port', (_pod, c) => (c.ports = [{ containerPort: 53, protocol: 'UDP' }]), 'protocol UDP'],
])('fails on what it cannot reproduce: %s', (_what, change, message) => {
  const pod = withPod(change);
  expect(() => podSpecToPodman(pod, 'receiver', context)).toThrow(UntranslatableFieldError);
  expect(() => podSpecToPodman(pod, 'receiver', context)).toThrow(message);
});

test('fails on a mounted volume of a source it does not reproduce (hostPath)', () => {
  const pod = withPod((p, c) => {
    (p.volumes as Json[]).push({ name: 'host', hostPath: { path: '/' } });
    (c.volumeMounts as Json[]).push({ name: 'host', mountPath: '/host' });
  });
  expect(() => podSpecToPodman(pod, 'receiver', context)).toThrow('volumes[host]: volume source hostPath');
});

test('runAsNonRoot is enforced as kubelet enforces it', () => {
  const root = withPod((pod) => ((pod.securityContext as Json).runAsUser = 0));
  expect(() => podSpecToPodman(root, 'receiver', context)).toThrow('would run as root');
  const imageUserOnly = withPod((pod) => delete (pod.securityContext as Json).runAsUser);
  expect(() => podSpecToPodman(imageUserOnly, 'receiver', { ...context, imageUser: 'nonroot' })).toThrow(
    "non-numeric user 'nonroot'",
  );
  expect(podSpecToPodman(imageUserOnly, 'receiver', context).user.uid).toBe(65532);
});

test('a pod that opts out of the ServiceAccount token gets none', () => {
  const pod = withPod((p) => (p.automountServiceAccountToken = false));
  const t = podSpecToPodman(pod, 'receiver', context);
  expect(t.mounts.map((m) => m.mountPath)).not.toContain('/var/run/secrets/kubernetes.io/serviceaccount');
});

test('quantities', () => {
  expect(memoryBytes('384Mi', 'x')).toBe(402653184);
  expect(memoryBytes('1G', 'x')).toBe(1e9);
  expect(memoryBytes('1048576', 'x')).toBe(1048576);
  expect(() => memoryBytes('lots', 'limits.memory')).toThrow("limits.memory: memory quantity 'lots'");
  expect(milliCpu('50m', 'x')).toBe(50);
  expect(milliCpu('1.5', 'x')).toBe(1500);
  expect(() => milliCpu('fast', 'requests.cpu')).toThrow("requests.cpu: cpu quantity 'fast'");
});
