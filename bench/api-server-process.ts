/**
 * Child process: the embedded API server with the CRDs, seeded in process (fast) with namespaces,
 * Deployments, DeployPolicies and optionally manual DeployRequests, as the argument (JSON) says.
 * Prints `{"url": ...}` when ready, and `{"drained": epochMs}` once every seeded request is in a
 * final phase (watched in process, so the measurement does not load the HTTP side).
 */
import { join } from 'node:path';
import { TERMINAL_PHASES, type DeployRequest } from '../src/api/types.js';
import { startEmbeddedApiServer } from '../src/apiserver/embedded-api-server.js';
import type { KubeObject } from '../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../src/kube/resource-types.js';
import { installCrds } from '../src/playground/playground.js';
import { PROJECT_ROOT } from './processes.js';
import { namespaceOf, type Seed } from './seed.js';

async function main(): Promise<void> {
  const seed = JSON.parse(process.argv[2] ?? '{}') as Seed;
  const server = await startEmbeddedApiServer({ workloads: { stepMs: seed.stepMs }, watchWindow: 200_000 });
  const kube = server.kubeClient();
  await installCrds(kube, join(PROJECT_ROOT, 'crds'));
  for (let i = 0; i < seed.workloads; i++) {
    const namespace = namespaceOf(i);
    await kube.create(RESOURCE_TYPES.namespaces, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: namespace },
    });
    await kube.create(RESOURCE_TYPES.deployments, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { containers: [{ name: 'web', image: 'ghcr.io/acme/web:1.0.0' }] },
        },
      },
    });
    await kube.create(RESOURCE_TYPES.deployPolicies, {
      apiVersion: 'keyless.dev/v1alpha1',
      kind: 'DeployPolicy',
      metadata: { name: 'web', namespace },
      spec: {
        targets: [{ kind: 'Deployment', name: 'web', containers: ['web'] }],
        subjects: [{ repositoryId: seed.repositoryId }],
        allowManual: true,
        images: { repositories: ['ghcr.io/acme/web'] },
      },
    });
  }
  const total = seed.workloads * seed.requestsPerWorkload;
  const start = Date.now();
  for (let k = 0; k < seed.requestsPerWorkload; k++) {
    for (let i = 0; i < seed.workloads; i++) {
      await kube.create(RESOURCE_TYPES.deployRequests, {
        apiVersion: 'keyless.dev/v1alpha1',
        kind: 'DeployRequest',
        metadata: { name: `req-${k}`, namespace: namespaceOf(i) },
        spec: {
          target: { kind: 'Deployment', name: 'web' },
          images: [{ container: 'web', image: `ghcr.io/acme/web:2.0.${k}` }],
          source: { type: 'kubernetes' },
          requestedAt: new Date(start + k).toISOString(),
        },
      });
    }
  }
  if (total > 0) {
    const finished = new Set<string>();
    const note = (request: DeployRequest & KubeObject): void => {
      if (request.status?.phase && TERMINAL_PHASES.includes(request.status.phase))
        finished.add(`${request.metadata.namespace}/${request.metadata.name}`);
      if (finished.size === total) {
        const phases: Record<string, number> = {};
        void kube.list<DeployRequest & KubeObject>(RESOURCE_TYPES.deployRequests, undefined).then((list) => {
          for (const item of list.items)
            phases[item.status?.phase ?? 'Pending'] = (phases[item.status?.phase ?? 'Pending'] ?? 0) + 1;
          console.log(JSON.stringify({ drained: Date.now(), phases }));
        });
        finished.add('reported');
      }
    };
    const listed = await kube.list<DeployRequest & KubeObject>(RESOURCE_TYPES.deployRequests, undefined);
    await kube.watch<DeployRequest & KubeObject>(
      RESOURCE_TYPES.deployRequests,
      undefined,
      { resourceVersion: listed.resourceVersion },
      (event) => note(event.object),
      () => undefined,
    );
  }
  console.log(JSON.stringify({ url: server.url, kubeconfig: server.kubeconfig(), objects: total }));
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

await main();
