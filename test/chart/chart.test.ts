/**
 * The Helm chart with a real helm: lint, render with several value sets, apply what it renders to
 * the embedded API server with a real kubectl (server-side dry run), and refuse bad values.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { PROJECT_ROOT, kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import { CHART, helm } from '../support/helm.js';
import { imageEntrypoint } from '../support/image-entrypoint.js';

const REQUIRED = [
  '--set',
  'receiver.oidcAudience=https://deploy.example.com',
  '--set',
  'attestation.existingSecret=keyless-keys',
];
const VALUE_SETS: Record<string, string[]> = {
  defaults: [],
  existingSecret: REQUIRED,
  namespaced: [...REQUIRED, '--set', 'namespaces={apps-a,apps-b}'],
  githubApp: [
    ...REQUIRED,
    '--set',
    'github.app.enabled=true',
    '--set',
    'github.app.existingSecret=keyless-github',
    '--set',
    'github.apiUrl=https://ghe.example.com/api/v3',
  ],
  ha: [...REQUIRED, '--set', 'receiver.replicas=3', '--set', 'controller.replicas=2'],
  extraCa: [
    ...REQUIRED,
    '--set',
    'extraCaCertificates.configMap=corp-ca',
    '--set',
    'extraCaCertificates.key=bundle.pem',
    '--set',
    'terminationGracePeriodSeconds=60',
  ],
  ingress: [
    ...REQUIRED,
    '--set',
    'receiver.ingress.enabled=true',
    '--set',
    'receiver.ingress.host=deploy.example.com',
    '--set',
    'receiver.ingress.tlsSecretName=tls',
  ],
  gateway: [
    ...REQUIRED,
    '--set',
    'receiver.httpRoute.enabled=true',
    '--set',
    'receiver.httpRoute.parentRefs[0].name=gw',
    '--set',
    'networkPolicy.enabled=true',
    '--set',
    'serviceMonitor.enabled=true',
  ],
};

function render(args: string[]): Array<Record<string, unknown>> {
  const result = helm(['template', 'kd', CHART, '--namespace', 'keyless-system', ...args]);
  if (result.code !== 0) throw new Error(result.stderr);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Record<string, unknown>)
    .filter(Boolean);
}

let server: EmbeddedApiServer;
let config: string;

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: false });
  config = writeKubeconfig(server.kubeconfig());
  await kubectlOk(config, ['apply', '-f', join(PROJECT_ROOT, 'crds')]);
  await kubectlOk(config, ['apply', '-f', '-'], {
    input: ['keyless-system', 'apps-a', 'apps-b']
      .map((name) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n`)
      .join('---\n'),
  });
});

afterAll(async () => {
  await server.close();
});

describe('charts/keyless-deploy', () => {
  test('metrics and health have their own ports: probes, the metrics Services, the ServiceMonitor and the NetworkPolicy use them; the public Service (and the HTTPRoute behind it) never reaches /metrics', () => {
    type Obj = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
    const objects = render(VALUE_SETS.gateway!) as unknown as Obj[];
    const named = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name);
    const receiver = named('Deployment', 'kd-receiver') as unknown as {
      spec: {
        template: {
          spec: {
            containers: Array<{
              ports: Array<{ name: string; containerPort: number }>;
              env: Array<{ name: string; value?: string }>;
              readinessProbe: { httpGet: { port: string } };
              livenessProbe: { httpGet: { port: string } };
            }>;
          };
        };
      };
    };
    const container = receiver.spec.template.spec.containers[0]!;
    expect(container.ports).toEqual([
      { name: 'http', containerPort: 8080, protocol: 'TCP' },
      { name: 'metrics', containerPort: 8082, protocol: 'TCP' },
    ]);
    expect(container.env.find((e) => e.name === 'KEYLESS_OPS_LISTEN')?.value).toBe('0.0.0.0:8082');
    expect([container.readinessProbe.httpGet.port, container.livenessProbe.httpGet.port]).toEqual([
      'metrics',
      'metrics',
    ]);
    expect(
      (named('Service', 'kd-receiver')?.spec.ports as Array<{ name: string }>).map((p) => p.name),
    ).toEqual(['http']);
    expect(named('Service', 'kd-receiver-metrics')?.spec.ports).toEqual([
      { name: 'metrics', port: 8082, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    expect(named('ServiceMonitor', 'kd')?.spec.endpoints).toEqual([
      { port: 'metrics', path: '/metrics', interval: expect.any(String) },
    ]);
    const policy = named('NetworkPolicy', 'kd')?.spec.ingress as Array<{ ports: Array<{ port: number }> }>;
    expect(policy.flatMap((rule) => rule.ports.map((p) => p.port))).toEqual([8080, 8081, 8082]);
  });

  test('the chart CRDs are the project CRDs, byte for byte', () => {
    const files = readdirSync(join(PROJECT_ROOT, 'crds')).sort();
    expect(readdirSync(join(CHART, 'crds')).sort()).toEqual(files);
    for (const file of files)
      expect(readFileSync(join(CHART, 'crds', file), 'utf8')).toBe(
        readFileSync(join(PROJECT_ROOT, 'crds', file), 'utf8'),
      );
  });

  test.each(Object.entries(VALUE_SETS))('helm lint --strict passes (%s)', (_name, args) => {
    const result = helm(['lint', '--strict', CHART, ...args]);
    expect(`${result.code} ${result.stderr}`).toBe('0 ');
  });

  test.each(Object.entries(VALUE_SETS))(
    'renders and applies to the API server (server-side dry run): %s',
    async (_name, args) => {
      const objects = render(args);
      const kinds = objects.map((o) => o.kind);
      expect(kinds).toEqual(
        expect.arrayContaining(['Deployment', 'ServiceAccount', 'Role', 'RoleBinding', 'Service']),
      );
      // Listed namespaces get Roles only: nothing cluster-wide but reading the approval admission objects.
      const clusterRoles = objects
        .filter((o) => o.kind === 'ClusterRole')
        .map((o) => (o.metadata as { name: string }).name);
      if (args.some((arg) => arg.startsWith('namespaces=')))
        expect(clusterRoles).toEqual(['kd-controller-approval-admission']);
      else expect(clusterRoles).toEqual(expect.arrayContaining(['kd-controller', 'kd-receiver']));
      const manifest = objects.map((o) => JSON.stringify(o)).join('\n');
      const applied = await kubectl(config, ['apply', '--server-side', '--dry-run=server', '-f', '-'], {
        input: manifest,
      });
      expect(`${applied.code} ${applied.stderr}`).toBe('0 ');
      expect(applied.stdout).toContain('deployment.apps/kd-receiver serverside-applied (server dry run)');
    },
  );

  test('hardened pods: non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp; the controller gets only the public key', () => {
    const deployments = render(VALUE_SETS.ha as string[]).filter((o) => o.kind === 'Deployment') as Array<{
      metadata: { name: string };
      spec: { template: { spec: Record<string, unknown> } };
    }>;
    expect(deployments).toHaveLength(2);
    for (const deployment of deployments) {
      const pod = deployment.spec.template.spec as {
        securityContext: Record<string, unknown>;
        containers: Array<{
          securityContext: Record<string, unknown>;
          env: Array<{ name: string; value?: string }>;
        }>;
        volumes: Array<{ secret?: { items: Array<{ key: string }> } }>;
      };
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.containers[0]?.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const keys = pod.volumes.flatMap((v) => v.secret?.items.map((i) => i.key) ?? []);
      expect(keys).toEqual(
        deployment.metadata.name.endsWith('controller')
          ? ['attestation-public-key.pem']
          : ['attestation-key.pem'],
      );
    }
    const controller = deployments.find((d) => d.metadata.name === 'kd-controller');
    const env =
      (
        controller?.spec.template.spec as {
          containers: Array<{ env: Array<{ name: string; value?: string }> }>;
        }
      ).containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'KEYLESS_LEADER_ELECTION')?.value).toBe('true');
    // A heap limit under the memory limit: the process stays inside its container.
    expect(env.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe('--max-old-space-size=256');
  });

  test("the controller's node gets controller.nodeFlags on the image's own entrypoint; the receiver keeps the entrypoint", () => {
    // The image's entrypoint, from the Dockerfile the image is built from.
    const entrypoint = imageEntrypoint();
    expect(entrypoint).toEqual(['/nodejs/bin/node', 'dist/cli/main.js']);
    const containerOf = (args: string[], name: string) =>
      (
        render(args).find((o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === name)
          ?.spec as { template: { spec: { containers: Array<{ command?: string[]; args: string[] }> } } }
      ).template.spec.containers[0];
    const defaults = containerOf(REQUIRED, 'kd-controller');
    expect(defaults?.command).toEqual([entrypoint[0], '--optimize-for-size', entrypoint[1]]);
    expect(defaults?.args).toEqual(['run', '--controller']);
    expect(containerOf(REQUIRED, 'kd-receiver')?.command).toBeUndefined();
    const none = containerOf(REQUIRED.concat(['--set-json', 'controller.nodeFlags=[]']), 'kd-controller');
    expect(none?.command).toBeUndefined();
    const two = containerOf(
      REQUIRED.concat(['--set-json', 'controller.nodeFlags=["--optimize-for-size","--stack-size=2000"]']),
      'kd-controller',
    );
    expect(two?.command).toEqual([entrypoint[0], '--optimize-for-size', '--stack-size=2000', entrypoint[1]]);
  });

  test('the receiver may not change workloads; nobody gets contents of Secrets', () => {
    const roles = render(VALUE_SETS.existingSecret as string[]).filter(
      (o) => o.kind === 'ClusterRole' || o.kind === 'Role',
    ) as Array<{
      metadata: { name: string };
      rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }>;
    }>;
    const receiver = roles.find((r) => r.metadata.name === 'kd-receiver');
    expect(receiver?.rules).toEqual([
      { apiGroups: ['keyless.dev'], resources: ['deployrequests'], verbs: ['create', 'get'] },
      { apiGroups: ['keyless.dev'], resources: ['deploypolicies'], verbs: ['list', 'watch'] },
    ]);
    for (const role of roles) {
      for (const rule of role.rules) {
        expect(rule.resources).not.toContain('secrets');
        expect(rule.verbs).not.toContain('*');
      }
    }
  });

  test('with default values the chart generates an Ed25519 attestation key, keeps it on uninstall, and the controller derives the public half', () => {
    const objects = render([]);
    const secret = objects.find((o) => o.kind === 'Secret') as
      | { metadata: { name: string; annotations: Record<string, string> }; data: Record<string, string> }
      | undefined;
    expect(secret?.metadata.name).toBe('kd-attestation');
    expect(secret?.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
    const pem = Buffer.from(secret?.data['attestation-key.pem'] ?? '', 'base64').toString('utf8');
    expect(createPrivateKey(pem).asymmetricKeyType).toBe('ed25519');
    const controller = objects.find(
      (o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === 'kd-controller',
    ) as {
      spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
    };
    const env = controller.spec.template.spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'KEYLESS_ATTESTATION_PUBLIC_KEY_FILE')?.value).toBe(
      '/keys/attestation-key.pem',
    );
    // With an existing Secret, no Secret is rendered at all.
    expect(render(REQUIRED).filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  test.each([
    [[], 'keyless-deploy'],
    [['--set', 'receiver.publicUrl=https://deploy.example.com/'], 'https://deploy.example.com'],
    [
      ['--set', 'receiver.ingress.enabled=true', '--set', 'receiver.ingress.host=in.example.com'],
      'https://in.example.com',
    ],
    [
      ['--set', 'receiver.oidcAudience=cluster-7', '--set', 'receiver.publicUrl=https://x.example.com'],
      'cluster-7',
    ],
  ])(
    'the audience is the value given, else derived from where the receiver is reachable: %j',
    (args, audience) => {
      const receiver = render(args).find(
        (o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === 'kd-receiver',
      ) as {
        spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
      };
      const env = receiver.spec.template.spec.containers[0]?.env ?? [];
      expect(env.find((e) => e.name === 'KEYLESS_OIDC_AUDIENCE')?.value).toBe(audience);
      const notes = helm([
        'install',
        'kd',
        CHART,
        '--dry-run=client',
        '--namespace',
        'keyless-system',
        ...args,
      ]);
      expect(notes.stdout).toContain(`expecting tokens for the audience "${audience}"`);
    },
  );

  test('extra CA certificates: both components mount the ConfigMap read-only and Node trusts it; the grace period is the value', () => {
    for (const deployment of render(VALUE_SETS.extraCa as string[]).filter(
      (o) => o.kind === 'Deployment',
    ) as Array<{
      spec: {
        template: {
          spec: {
            terminationGracePeriodSeconds: number;
            containers: Array<{
              env: Array<{ name: string; value?: string }>;
              volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
            }>;
            volumes: Array<{ name: string; configMap?: unknown }>;
          };
        };
      };
    }>) {
      const pod = deployment.spec.template.spec;
      expect(pod.terminationGracePeriodSeconds).toBe(60);
      const container = pod.containers[0];
      expect(container?.env.find((e) => e.name === 'NODE_EXTRA_CA_CERTS')?.value).toBe(
        '/etc/keyless-deploy/ca/bundle.pem',
      );
      expect(container?.volumeMounts).toContainEqual({
        name: 'extra-ca',
        mountPath: '/etc/keyless-deploy/ca',
        readOnly: true,
      });
      expect(pod.volumes.find((v) => v.name === 'extra-ca')?.configMap).toEqual({
        name: 'corp-ca',
        items: [{ key: 'bundle.pem', path: 'bundle.pem' }],
      });
    }
    // Without the value: no extra trust at all.
    const plain = JSON.stringify(render(REQUIRED));
    expect(plain).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(plain).not.toContain('extra-ca');
  });

  test('restricted to listed namespaces: Roles in exactly those, both components told which', () => {
    const objects = render(VALUE_SETS.namespaced as string[]);
    const grants = objects
      .filter((o) => ['Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind as string))
      .map(
        (o) =>
          `${o.kind as string} ${(o.metadata as { namespace?: string }).namespace ?? '-'}/${(o.metadata as { name: string }).name}`,
      )
      .sort();
    expect(grants).toEqual([
      // Cluster-scoped objects can only be granted cluster-wide; this one reads two objects by name.
      'ClusterRole -/kd-controller-approval-admission',
      'ClusterRoleBinding -/kd-controller-approval-admission',
      'Role apps-a/kd-controller',
      'Role apps-a/kd-receiver',
      'Role apps-b/kd-controller',
      'Role apps-b/kd-receiver',
      'Role keyless-system/kd-controller-leases',
      'RoleBinding apps-a/kd-controller',
      'RoleBinding apps-a/kd-receiver',
      'RoleBinding apps-b/kd-controller',
      'RoleBinding apps-b/kd-receiver',
      'RoleBinding keyless-system/kd-controller-leases',
    ]);
    for (const deployment of objects.filter((o) => o.kind === 'Deployment') as Array<{
      spec: { template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } } };
    }>) {
      const env = deployment.spec.template.spec.containers[0]?.env ?? [];
      expect(env.find((e) => e.name === 'KEYLESS_NAMESPACES')?.value).toBe('apps-a,apps-b');
    }
  });

  test('GitHub App: the controller mounts only the private key, the receiver only the webhook secret', () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs1',
      format: 'pem',
    }) as string;
    const objects = render([
      ...REQUIRED,
      '--set',
      'github.app.enabled=true',
      '--set',
      'github.app.appId=123456',
      '--set-string',
      `github.app.privateKey=${key}`,
      '--set',
      'github.app.webhookSecret=0123456789abcdef0123',
    ]);
    const secret = objects.find((o) => (o.metadata as { name: string }).name === 'kd-github-app') as {
      stringData: Record<string, string>;
    };
    expect(Object.keys(secret.stringData).sort()).toEqual(['app-id', 'private-key.pem', 'webhook-secret']);
    const mounted = (name: string): string[] => {
      const deployment = objects.find(
        (o) => o.kind === 'Deployment' && (o.metadata as { name: string }).name === name,
      ) as {
        spec: {
          template: {
            spec: { volumes: Array<{ name: string; secret?: { items: Array<{ key: string }> } }> };
          };
        };
      };
      const volume = deployment.spec.template.spec.volumes.find((v) => v.name === 'github');
      return volume?.secret?.items.map((i) => i.key) ?? [];
    };
    expect(mounted('kd-controller')).toEqual(['private-key.pem']);
    expect(mounted('kd-receiver')).toEqual(['webhook-secret']);
    // Only with the App does the controller patch status (the reporter's progress).
    const rules = (args: string[]) =>
      JSON.stringify(
        (
          render(args).find(
            (o) => o.kind === 'ClusterRole' && (o.metadata as { name: string }).name === 'kd-controller',
          ) as {
            rules: unknown[];
          }
        ).rules,
      );
    expect(rules(VALUE_SETS.githubApp as string[])).toContain('"verbs":["update","patch"]');
    expect(rules(REQUIRED)).toContain('"verbs":["update"]');
  });

  test.each([
    [REQUIRED.concat(['--set', 'github.app.enabled=true']), '/github/app/appId'],
    [REQUIRED.concat(['--set', 'github.apiUrl=http://api.github.com']), '/github/apiUrl'],
    [REQUIRED.concat(['--set', 'controller.heapMiB=16']), '/controller/heapMiB'],
    [REQUIRED.concat(['--set-json', 'controller.nodeFlags=["--x; rm -rf /"]']), '/controller/nodeFlags/0'],
    [REQUIRED.concat(['--set-json', 'controller.nodeFlags=["dist/other.js"]']), '/controller/nodeFlags/0'],
    [
      REQUIRED.concat(['--set-json', `controller.nodeFlags=["--stack-size=${'9'.repeat(300)}"]`]),
      '/controller/nodeFlags/0',
    ],
    [
      REQUIRED.concat(['--set-json', `controller.nodeFlags=${JSON.stringify(Array(17).fill('--no-opt'))}`]),
      '/controller/nodeFlags',
    ],
    [REQUIRED.concat(['--set', 'receiver.heapMiB=lots']), '/receiver/heapMiB'],
    [REQUIRED.concat(['--set', 'github.logUrl=javascript:alert(1)']), '/github/logUrl'],
    [REQUIRED.concat(['--set', 'github.webhookMaxAgeSeconds=1']), '/github/webhookMaxAgeSeconds'],
    [REQUIRED.concat(['--set', 'namespaces={Not_A_Namespace}']), '/namespaces/0'],
    [REQUIRED.concat(['--set', 'attestation.existingSecret=Bad/Name']), '/attestation/existingSecret'],
    [
      REQUIRED.concat(['--set', 'receiver.oidcIssuers[0]=http://insecure.example.com']),
      '/receiver/oidcIssuers/0',
    ],
    [REQUIRED.concat(['--set', 'controller.concurrency=0']), '/controller/concurrency'],
    [REQUIRED.concat(['--set', 'receiver.ingress.enabled=true']), '/receiver/ingress/host'],
    [REQUIRED.concat(['--set', 'logLevel=loud']), '/logLevel'],
    [REQUIRED.concat(['--set', 'extraCaCertificates.configMap=Corp_CA']), '/extraCaCertificates/configMap'],
    [REQUIRED.concat(['--set', 'extraCaCertificates.key=../etc/passwd']), '/extraCaCertificates/key'],
    [REQUIRED.concat(['--set', 'terminationGracePeriodSeconds=5']), '/terminationGracePeriodSeconds'],
    [REQUIRED.concat(['--set', 'unknownKey=1']), 'unknownKey'],
  ])('bad values are refused with a clear message: %j', (args, message) => {
    const result = helm(['template', 'kd', CHART, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});

describe('DeployRequest status is written by the controller only (issue 13, finding 8)', () => {
  type Rule = { apiGroups?: string[]; resources?: string[] };
  type Binding = {
    kind: string;
    metadata: { name: string; namespace?: string };
    roleRef: { kind: string; name: string };
    subjects?: Array<{ kind: string; name: string }>;
  };
  test.each(Object.entries(VALUE_SETS))(
    'no role bound to anyone but the controller grants deployrequests/status (%s)',
    (_name, args) => {
      const objects = render(args as string[]);
      const grantsStatus = (rules: Rule[] | undefined): boolean =>
        (rules ?? []).some(
          (rule) =>
            (rule.apiGroups ?? []).some((group) => group === 'keyless.dev' || group === '*') &&
            (rule.resources ?? []).some((resource) =>
              ['deployrequests/status', '*/status', '*'].includes(resource),
            ),
        );
      const roles = objects.filter(
        (o) => (o.kind === 'Role' || o.kind === 'ClusterRole') && grantsStatus(o.rules as Rule[]),
      ) as Array<{ kind: string; metadata: { name: string; namespace?: string } }>;
      expect(roles.length).toBeGreaterThan(0);
      const holders = new Set<string>();
      for (const binding of objects.filter(
        (o) => o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding',
      ) as Binding[]) {
        const role = roles.find(
          (r) =>
            r.kind === binding.roleRef.kind &&
            r.metadata.name === binding.roleRef.name &&
            (r.kind === 'ClusterRole' || r.metadata.namespace === binding.metadata.namespace),
        );
        if (role)
          for (const subject of binding.subjects ?? []) holders.add(`${subject.kind}/${subject.name}`);
      }
      expect([...holders]).toEqual(['ServiceAccount/kd-controller']);
    },
  );
});
