/** `dataDir`: the embedded API server restarts without losing objects; watches resume with 410. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedApiServer } from '../../src/apiserver/embedded-api-server.js';
import { KubeApiError, type KubeObject } from '../../src/kube/kube-client.js';
import { RESOURCE_TYPES } from '../../src/kube/resource-types.js';
import { installCrds } from '../../src/playground/playground.js';

test('objects, CRDs and resourceVersions survive a restart; resume points from before the restart get 410 Gone', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyless-data-'));
  const first = await startEmbeddedApiServer({ dataDir, workloads: false });
  const kube = first.kubeClient();
  await installCrds(kube);
  const namespace = await kube.create<KubeObject>(RESOURCE_TYPES.namespaces, {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'shop' },
  });
  const created = await kube.create<KubeObject>(RESOURCE_TYPES.deployRequests, {
    apiVersion: 'keyless.dev/v1alpha1',
    kind: 'DeployRequest',
    metadata: { name: 'kept', namespace: 'shop' },
    spec: {
      target: { kind: 'Deployment', name: 'web' },
      images: [{ container: 'web', image: 'ghcr.io/acme/web:1' }],
      source: { type: 'kubernetes' },
    },
  });
  const revision = first.revision();
  await first.close();

  const second = await startEmbeddedApiServer({ dataDir, workloads: false });
  try {
    const again = second.kubeClient();
    const kept = await again.get(RESOURCE_TYPES.deployRequests, 'shop', 'kept');
    expect(kept?.metadata.uid).toBe(created.metadata.uid);
    expect(kept?.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    const next = await again.create<KubeObject>(RESOURCE_TYPES.deployRequests, {
      ...created,
      metadata: { name: 'after', namespace: 'shop' },
    });
    expect(Number(next.metadata.resourceVersion)).toBeGreaterThan(revision);
    const error = await again
      .watch(
        RESOURCE_TYPES.deployRequests,
        'shop',
        { resourceVersion: namespace.metadata.resourceVersion },
        () => undefined,
        () => undefined,
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).code).toBe(410);
  } finally {
    await second.close();
  }
});
