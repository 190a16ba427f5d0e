/**
 * Jest global setup of `npm run test:cluster`: the real cluster every suite of the run talks to.
 * With KEYLESS_TEST_KUBECONFIG set, that existing cluster is used as it is; otherwise one local
 * control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok; built by
 * `npm run cluster-tools`) is started for the whole run and its admin kubeconfig exported as
 * KEYLESS_TEST_KUBECONFIG (workers inherit it). Uses the compiled starter in dist/ (the script
 * builds first). Also sets up the installation-token audit of the unit suite.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tokenAuditSetup from '../support/token-audit-setup.mjs';

export default async function setup() {
  tokenAuditSetup();
  const started = Date.now();
  if (process.env.KEYLESS_TEST_KUBECONFIG) {
    process.stdout.write(
      `\ntest:cluster: using the existing cluster of KEYLESS_TEST_KUBECONFIG=${process.env.KEYLESS_TEST_KUBECONFIG}\n`,
    );
    return;
  }
  const { startRealControlPlane } = await import('../../dist/playground/control-plane/real-control-plane.js');
  const stateDir = mkdtempSync(join(tmpdir(), 'keyless-cluster-'));
  const controlPlane = await startRealControlPlane({ stateDir });
  globalThis.keylessControlPlane = controlPlane;
  process.env.KEYLESS_TEST_KUBECONFIG = controlPlane.adminKubeconfigPath;
  process.env.KEYLESS_TEST_CONTROL_PLANE_DIR = stateDir;
  process.stdout.write(
    `\ntest:cluster: Kubernetes ${controlPlane.version} at ${controlPlane.url} ready in ${((Date.now() - started) / 1000).toFixed(1)} s (state and logs in ${stateDir})\n`,
  );
}
