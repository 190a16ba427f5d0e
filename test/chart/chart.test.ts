/**
 * The Helm chart with a real helm: lint, render with several value sets, apply what it renders to
 * the embedded API server with a real kubectl (server-side dry run), and refuse bad values.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { PROJECT_ROOT, kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import { CHART, helm } from '../support/helm.js';

const REQUIRED = [
  '--set',
  'receiver.oidcAudience=https://deploy.example.com',
  '--set',
  'attestation.existingSecret=keyless-keys',
];
const VALUE_SETS: Record<string, string[]> = {
  minimal: REQUIRED,
  ha: [...REQUIRED, '--set', 'receiver.replicas=3', '--set', 'controller.replicas=2'],
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
    input: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: keyless-system\n',
  });
});

afterAll(async () => {
  await server.close();
});

describe('charts/keyless-deploy', () => {
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
        expect.arrayContaining([
          'Deployment',
          'ServiceAccount',
          'ClusterRole',
          'ClusterRoleBinding',
          'Role',
          'RoleBinding',
          'Service',
        ]),
      );
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
  });

  test('the receiver may not change workloads; nobody gets contents of Secrets', () => {
    const roles = render(VALUE_SETS.minimal as string[]).filter(
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

  test.each([
    [['--set', 'attestation.existingSecret=keys'], 'receiver.oidcAudience is required'],
    [
      REQUIRED.concat(['--set', 'receiver.oidcIssuers[0]=http://insecure.example.com']),
      '/receiver/oidcIssuers/0',
    ],
    [REQUIRED.concat(['--set', 'controller.concurrency=0']), '/controller/concurrency'],
    [REQUIRED.concat(['--set', 'receiver.ingress.enabled=true']), '/receiver/ingress/host'],
    [REQUIRED.concat(['--set', 'logLevel=loud']), '/logLevel'],
    [REQUIRED.concat(['--set', 'unknownKey=1']), 'unknownKey'],
    [['--set', 'receiver.oidcAudience=x'], '/attestation/existingSecret'],
  ])('bad values are refused with a clear message: %j', (args, message) => {
    const result = helm(['template', 'kd', CHART, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
  });
});
