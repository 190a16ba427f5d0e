/**
 * The approval admission policy the chart ships is the one the controller checks for and the
 * playground installs (src/policy/approval-admission.ts): rendered by the real helm, compared
 * field by field. The value that turns it off, and bad values, are tested here too.
 */
import { parseAllDocuments } from 'yaml';
import { shippedApprovalAdmission } from '../../src/policy/index.js';
import { CHART, helm } from '../support/helm.js';

interface Rendered {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: unknown;
  rules?: unknown;
}

function render(args: string[] = []): Rendered[] {
  const result = helm(['template', 'kd', CHART, '--namespace', 'keyless-system', ...args]);
  if (result.code !== 0) throw new Error(result.stderr);
  return parseAllDocuments(result.stdout)
    .map((doc) => doc.toJS() as Rendered)
    .filter(Boolean);
}

const ADMISSION_KINDS = ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'];

describe('chart: approval admission policy', () => {
  test('rendered exactly as src/policy/approval-admission.ts ships it (names, specs)', () => {
    const shipped = shippedApprovalAdmission();
    const rendered = render().filter((object) => ADMISSION_KINDS.includes(object.kind ?? ''));
    expect(rendered.map((object) => [object.apiVersion, object.kind, object.metadata?.name])).toEqual(
      [shipped.policy, shipped.binding].map((object) => [
        object.apiVersion,
        object.kind,
        object.metadata.name,
      ]),
    );
    expect(rendered[0]?.spec).toEqual(shipped.policy.spec);
    expect(rendered[1]?.spec).toEqual(shipped.binding.spec);
    // Labels are the chart's own; nothing else in metadata (no namespace: cluster-scoped).
    expect(Object.keys(rendered[0]?.metadata ?? {}).sort()).toEqual(['labels', 'name']);
  });

  test('approvals.admissionPolicy.install=false leaves it out; the controller may still read it', () => {
    const objects = render(['--set', 'approvals.admissionPolicy.install=false']);
    expect(objects.filter((object) => ADMISSION_KINDS.includes(object.kind ?? ''))).toEqual([]);
    const role = objects.find((object) => object.metadata?.name === 'kd-controller-approval-admission');
    expect(role?.kind).toBe('ClusterRole');
    expect(role?.rules).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['validatingadmissionpolicies', 'validatingadmissionpolicybindings'],
        resourceNames: ['keyless-deploy-approvals'],
        verbs: ['get'],
      },
    ]);
  });

  test.each([
    [['--set', 'approvals.admissionPolicy.install=yes'], '/approvals/admissionPolicy/install'],
    [['--set', 'approvals.admissionPolicy.enabled=true'], 'enabled'],
    [['--set', 'approvals.policy=x'], 'policy'],
  ])('bad values are refused naming the value: %j', (args, name) => {
    const result = helm(['template', 'kd', CHART, ...args]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('values don');
    expect(result.stderr).toContain(name);
  });
});
