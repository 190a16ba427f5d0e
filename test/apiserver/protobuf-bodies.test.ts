/**
 * Kubernetes protobuf request bodies: the real kubectl's typed generators (`kubectl create
 * namespace|deployment|secret|configmap|...`) send `application/vnd.kubernetes.protobuf`; the
 * server decodes them into the JSON a real server stores and answers JSON (kubectl accepts it).
 * Malformed bodies get 400 and store nothing; bodies it cannot decode get 415 naming JSON and the
 * `kubectl apply -f` way; both are proven over real HTTP.
 */
import { startEmbeddedApiServer, type EmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { kubectl, kubectlOk, writeKubeconfig } from '../support/kubectl.js';
import {
  bytesField,
  k8sBody,
  mapEntry,
  msg,
  objectMeta,
  tag,
  varint,
  varintField,
} from './support/protobuf-writer.js';

let server: EmbeddedApiServer;
let config: string;
const k = (args: string[], input?: string): Promise<string> => kubectlOk(config, args, { input });
const PROTOBUF = 'application/vnd.kubernetes.protobuf';

beforeAll(async () => {
  server = await startEmbeddedApiServer({ workloads: { stepMs: 0 } });
  config = writeKubeconfig(server.kubeconfig());
});

afterAll(async () => {
  await server.close();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function post(
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
  method = 'POST',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'content-type': PROTOBUF, accept: `${PROTOBUF}, application/json`, ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('kubectl create with protobuf bodies', () => {
  test('namespace, deployment, secret, configmap, serviceaccount and job are created as a real server stores them', async () => {
    expect(await k(['create', 'namespace', 'proto'])).toBe('namespace/proto created\n');
    expect(
      await k([
        'create',
        'deployment',
        'web',
        '-n',
        'proto',
        '--image=ghcr.io/acme/web:1.0.0',
        '--replicas=2',
        '--port=8080',
      ]),
    ).toBe('deployment.apps/web created\n');
    await k([
      'create',
      'secret',
      'generic',
      'creds',
      '-n',
      'proto',
      '--from-literal=user=alice',
      '--from-literal=pass=s3cret',
    ]);
    await k(['create', 'configmap', 'settings', '-n', 'proto', '--from-literal=colour=blue']);
    await k(['create', 'serviceaccount', 'robot', '-n', 'proto']);
    await k(['create', 'job', 'once', '-n', 'proto', '--image=ghcr.io/acme/tool:1.0.0', '--', 'echo', 'hi']);

    const deployment = JSON.parse(await k(['get', 'deployment', 'web', '-n', 'proto', '-o', 'json']));
    expect(deployment.metadata).toMatchObject({ name: 'web', namespace: 'proto', labels: { app: 'web' } });
    expect(deployment.spec).toMatchObject({
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'ghcr.io/acme/web:1.0.0',
              ports: [{ containerPort: 8080 }],
              // A struct value in Go: written even when empty, as the real server stores it.
              resources: {},
            },
          ],
        },
      },
    });
    // Zero values the Go encoder leaves out are not invented (no empty strings or false flags).
    expect(deployment.metadata).not.toHaveProperty('generateName');
    expect(deployment.spec.template.spec.containers[0]).not.toHaveProperty('workingDir');
    expect(deployment.spec.template.spec.containers[0]).not.toHaveProperty('tty');
    expect(deployment.spec.template.metadata).not.toHaveProperty('creationTimestamp');

    const secret = JSON.parse(await k(['get', 'secret', 'creds', '-n', 'proto', '-o', 'json']));
    expect(secret.data).toEqual({
      user: Buffer.from('alice').toString('base64'),
      pass: Buffer.from('s3cret').toString('base64'),
    });
    const configMap = JSON.parse(await k(['get', 'configmap', 'settings', '-n', 'proto', '-o', 'json']));
    expect(configMap.data).toEqual({ colour: 'blue' });
    expect(await k(['get', 'serviceaccount', 'robot', '-n', 'proto', '-o', 'name'])).toBe(
      'serviceaccount/robot\n',
    );
    const job = JSON.parse(await k(['get', 'job', 'once', '-n', 'proto', '-o', 'json']));
    expect(job.spec.template.spec).toMatchObject({
      restartPolicy: 'Never',
      containers: [
        { name: 'once', image: 'ghcr.io/acme/tool:1.0.0', command: ['echo', 'hi'], resources: {} },
      ],
    });
  });

  test('the stored objects carry the defaults kube-apiserver fills in', async () => {
    const deployment = JSON.parse(await k(['get', 'deployment', 'web', '-n', 'proto', '-o', 'json']));
    expect(deployment.spec).toEqual({
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'ghcr.io/acme/web:1.0.0',
              ports: [{ containerPort: 8080, protocol: 'TCP' }],
              resources: {},
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              imagePullPolicy: 'IfNotPresent',
            },
          ],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    const job = JSON.parse(await k(['get', 'job', 'once', '-n', 'proto', '-o', 'json']));
    const uid = job.metadata.uid as string;
    expect(job.spec).toMatchObject({
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: 'NonIndexed',
      suspend: false,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
    });
    expect(job.spec.template.metadata.labels).toEqual({
      'batch.kubernetes.io/controller-uid': uid,
      'batch.kubernetes.io/job-name': 'once',
      'controller-uid': uid,
      'job-name': 'once',
    });
    const secret = JSON.parse(await k(['get', 'secret', 'creds', '-n', 'proto', '-o', 'json']));
    expect(secret.type).toBe('Opaque');
    const namespace = JSON.parse(await k(['get', 'namespace', 'proto', '-o', 'json']));
    expect(namespace.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'proto' });
  });

  test('cronjob, service, role, rolebinding, clusterrole, clusterrolebinding and pdb decode too', async () => {
    await k(['create', 'namespace', 'proto-more']);
    await k([
      'create',
      'cronjob',
      'nightly',
      '-n',
      'proto-more',
      '--image=ghcr.io/acme/tool:1',
      '--schedule=0 3 * * *',
    ]);
    await k(['create', 'service', 'clusterip', 'web', '-n', 'proto-more', '--tcp=80:8080']);
    await k(['create', 'role', 'reader', '-n', 'proto-more', '--verb=get,list', '--resource=configmaps']);
    await k(['create', 'rolebinding', 'reader', '-n', 'proto-more', '--role=reader', '--user=alice']);
    await k(['create', 'clusterrole', 'proto-reader', '--verb=get', '--resource=namespaces']);
    await k(['create', 'clusterrolebinding', 'proto-reader', '--clusterrole=proto-reader', '--group=devs']);
    await k(['create', 'pdb', 'web', '-n', 'proto-more', '--selector=app=web', '--min-available=1']);
    const cronJob = JSON.parse(await k(['get', 'cronjob', 'nightly', '-n', 'proto-more', '-o', 'json']));
    expect(cronJob.spec.schedule).toBe('0 3 * * *');
    expect(cronJob.spec.jobTemplate.spec.template.spec.containers[0].image).toBe('ghcr.io/acme/tool:1');
    const service = JSON.parse(await k(['get', 'service', 'web', '-n', 'proto-more', '-o', 'json']));
    expect(service.spec.ports[0]).toMatchObject({
      name: '80-8080',
      port: 80,
      targetPort: 8080,
      protocol: 'TCP',
    });
    const role = JSON.parse(await k(['get', 'role', 'reader', '-n', 'proto-more', '-o', 'json']));
    expect(role.rules).toEqual([{ verbs: ['get', 'list'], apiGroups: [''], resources: ['configmaps'] }]);
    const binding = JSON.parse(await k(['get', 'rolebinding', 'reader', '-n', 'proto-more', '-o', 'json']));
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' });
    expect(binding.subjects).toEqual([
      { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
    ]);
    const pdb = JSON.parse(await k(['get', 'pdb', 'web', '-n', 'proto-more', '-o', 'json']));
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: { matchLabels: { app: 'web' } } });
  });

  test('a kind without a decoder answers 415 naming application/json and kubectl apply -f; nothing is stored', async () => {
    await k(['create', 'namespace', 'proto-ingress']);
    const result = await kubectl(config, [
      'create',
      'ingress',
      'web',
      '-n',
      'proto-ingress',
      '--rule=shop.example/=web:80',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('application/json');
    expect(result.stderr).toContain('kubectl apply -f');
    expect(result.stderr).toContain('protobuf bodies of Ingress (networking.k8s.io/v1)');
    expect((await kubectl(config, ['get', 'ingress', 'web', '-n', 'proto-ingress'])).code).toBe(1);
    // The way out the message names works.
    const manifest = await k([
      'create',
      'ingress',
      'web',
      '-n',
      'proto-ingress',
      '--rule=shop.example/=web:80',
      '--dry-run=client',
      '-o',
      'yaml',
    ]);
    expect(await k(['apply', '-f', '-'], manifest)).toBe('ingress.networking.k8s.io/web created\n');
  });
});

describe('hostile protobuf bodies get a clear answer and store nothing', () => {
  const NS = 'proto-hostile';
  const DEPLOYMENTS = `/apis/apps/v1/namespaces/${NS}/deployments`;
  const CONFIGMAPS = `/api/v1/namespaces/${NS}/configmaps`;

  const container = (extra: Buffer = Buffer.alloc(0)): Buffer =>
    msg(bytesField(1, 'web'), bytesField(2, 'ghcr.io/acme/web:1.0.0'), extra);
  const deploymentBody = (
    name: string,
    options: { container?: Buffer; podSpec?: Buffer; replicas?: bigint | number } = {},
  ): Buffer => {
    const podSpec = msg(bytesField(2, options.container ?? container()), options.podSpec ?? Buffer.alloc(0));
    const template = msg(bytesField(1, objectMeta('', undefined, { app: 'web' })), bytesField(2, podSpec));
    const spec = msg(
      varintField(1, options.replicas ?? 2),
      bytesField(2, msg(mapEntry(1, 'app', 'web'))),
      bytesField(3, template),
    );
    return k8sBody('apps/v1', 'Deployment', msg(bytesField(1, objectMeta(name, NS)), bytesField(2, spec)));
  };

  async function stored(): Promise<string[]> {
    const list = (await get(DEPLOYMENTS)).body as { items: Array<{ metadata: { name: string } }> };
    const configMaps = (await get(CONFIGMAPS)).body as { items: Array<{ metadata: { name: string } }> };
    return [...list.items, ...configMaps.items].map((item) => item.metadata.name).sort();
  }

  async function refused(
    body: Buffer,
    status: number,
    message: string | RegExp,
    path = DEPLOYMENTS,
    headers: Record<string, string> = {},
    method = 'POST',
  ): Promise<void> {
    const before = await stored();
    const answer = await post(path, body, headers, method);
    expect({ status: answer.status, reason: answer.body.reason }).toEqual({
      status,
      reason: {
        400: 'BadRequest',
        406: 'NotAcceptable',
        413: 'RequestEntityTooLarge',
        415: 'UnsupportedMediaType',
      }[status],
    });
    expect(String(answer.body.message)).toMatch(message);
    expect(await stored()).toEqual(before);
  }

  beforeAll(async () => {
    await k(['create', 'namespace', NS]);
  });

  test('a well-formed body built field by field is stored with Go JSON semantics (the baseline)', async () => {
    const answer = await post(DEPLOYMENTS, deploymentBody('baseline'));
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      kind: 'Deployment',
      apiVersion: 'apps/v1',
      spec: {
        replicas: 2,
        template: { spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0', resources: {} }] } },
      },
    });
    expect(await stored()).toEqual(['baseline']);
  });

  test('no k8s prefix, a missing kind, a kind that does not match the URL: 400', async () => {
    await refused(
      Buffer.from('{"kind":"Deployment"}'),
      400,
      /does not start with the Kubernetes protobuf prefix/,
    );
    await refused(Buffer.alloc(0), 400, /does not start with the Kubernetes protobuf prefix/);
    const noKind = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      bytesField(1, msg(bytesField(1, 'apps/v1'))),
    ]);
    await refused(noKind, 400, /Object 'Kind' is missing/);
    const configMap = k8sBody('v1', 'ConfigMap', msg(bytesField(1, objectMeta('cm', NS))));
    await refused(
      configMap,
      400,
      'the kind of the object (ConfigMap) does not match the resource (Deployment)',
    );
  });

  test('truncated bodies: every cut inside the object, and a varint cut short, are 400', async () => {
    const whole = deploymentBody('truncated');
    // Cut everywhere after the envelope's typeMeta: the raw field then claims more than is left.
    const typeMetaEnd = 4 + bytesField(1, msg(bytesField(1, 'apps/v1'), bytesField(2, 'Deployment'))).length;
    for (let cut = typeMetaEnd + 3; cut < whole.length; cut += 7) {
      await refused(whole.subarray(0, cut), 400, /exceeds the \d+ bytes left|unexpected end of data/);
    }
    const cutVarint = Buffer.concat([deploymentBody('truncated'), Buffer.from([0x1a, 0xff])]);
    await refused(cutVarint, 400, /unexpected end of data in a varint/);
  });

  test('oversized lengths and over-long varints are 400', async () => {
    const huge = Buffer.concat([
      Buffer.from('k8s\0', 'latin1'),
      bytesField(1, msg(bytesField(1, 'apps/v1'), bytesField(2, 'Deployment'))),
      tag(2, 2),
      varint(2n ** 40n),
      Buffer.from('abc'),
    ]);
    await refused(huge, 400, /length 1099511627776 at byte \d+ exceeds the 3 bytes left/);
    const longVarint = k8sBody(
      'apps/v1',
      'Deployment',
      msg(bytesField(2, msg(tag(1, 0), Buffer.alloc(11, 0xff)))),
    );
    await refused(longVarint, 400, /varint longer than 10 bytes/);
  });

  test('wrong wire types, unknown field numbers and out-of-range values are 400 naming the field', async () => {
    const nameAsVarint = k8sBody('apps/v1', 'Deployment', msg(bytesField(1, msg(varintField(1, 7)))));
    await refused(nameAsVarint, 400, /wrong wire type 0 for metadata\.name/);
    const unknown = deploymentBody('unknown', { container: container(bytesField(99, 'x')) });
    await refused(
      unknown,
      400,
      /field number 99 \(wire type 2\) at byte \d+ is not defined in k8s\.io\.api\.core\.v1\.Container \(at spec\.template\.spec\.containers\[0\]\)/,
    );
    await refused(deploymentBody('too-many', { replicas: 2n ** 40n }), 400, /out of range for int32/);
    const envelopeField = k8sBody(
      'apps/v1',
      'Deployment',
      msg(bytesField(1, objectMeta('x', NS))),
      bytesField(9, 'x'),
    );
    await refused(envelopeField, 400, /not defined in k8s\.io\.apimachinery\.pkg\.runtime\.Unknown/);
    const group = Buffer.concat([deploymentBody('group'), tag(5, 3)]);
    await refused(group, 400, /group wire type 3|invalid wire type|not defined/);
  });

  test('deep nesting ends with 400 at the first level the message does not have', async () => {
    let nested: Buffer = bytesField(13, 'end');
    for (let depth = 0; depth < 5000; depth++) nested = bytesField(13, nested);
    const body = k8sBody('apps/v1', 'Deployment', msg(bytesField(1, nested)));
    await refused(
      body,
      400,
      /not defined in k8s\.io\.apimachinery\.pkg\.apis\.meta\.v1\.OwnerReference \(at metadata\.ownerReferences\[0\]\)/,
    );
  });

  test('fields and encodings it does not decode are 415 naming application/json and kubectl apply -f', async () => {
    const affinity = deploymentBody('affinity', { podSpec: bytesField(18, Buffer.alloc(0)) });
    await refused(
      affinity,
      415,
      /cannot decode the field spec\.template\.spec\.affinity of a protobuf Deployment: send the object as application\/json instead \(kubectl apply -f/,
    );
    const gzip = k8sBody('apps/v1', 'Deployment', deploymentBody('gzip'), bytesField(3, 'gzip'));
    await refused(gzip, 415, /content encoding "gzip"/);
    const statusBody = deploymentBody('status-sub');
    await refused(
      statusBody,
      415,
      /protobuf bodies for the status subresource/,
      `${DEPLOYMENTS}/baseline/status`,
      {},
      'PUT',
    );
    await refused(
      Buffer.from('a: b'),
      415,
      /accepted media types include: application\/json.*\(got text\/plain\)/,
      CONFIGMAPS,
      {
        'content-type': 'text/plain',
      },
    );
  });

  test('bodies over 3 MiB are 413; clients that accept only protobuf are 406', async () => {
    const big = k8sBody(
      'v1',
      'ConfigMap',
      msg(bytesField(1, objectMeta('big', NS)), mapEntry(2, 'a', 'x'.repeat(3 * 1024 * 1024))),
    );
    await refused(big, 413, 'Request entity too large: limit is 3145728', CONFIGMAPS);
    const small = k8sBody('v1', 'ConfigMap', msg(bytesField(1, objectMeta('small', NS))));
    await refused(small, 406, 'only the following media types are accepted: application/json', CONFIGMAPS, {
      accept: PROTOBUF,
    });
    const accepted = await post(CONFIGMAPS, small);
    expect(accepted.status).toBe(201);
  });
});
