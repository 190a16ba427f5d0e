/**
 * Jest global teardown of `npm run test:cluster`: stops the local control plane the setup started
 * (an existing cluster of KEYLESS_TEST_KUBECONFIG is left running; each suite deletes what it
 * created), then runs the installation-token audit.
 */
import tokenAuditTeardown from '../support/token-audit-teardown.mjs';

export default async function teardown() {
  const controlPlane = globalThis.keylessControlPlane;
  if (controlPlane) {
    await controlPlane.stop();
    process.stdout.write(`test:cluster: control plane stopped (logs in ${controlPlane.stateDir}/logs)\n`);
  }
  await tokenAuditTeardown();
}
