/**
 * The cluster the container test runs the image against: the one injectable place. A pod reaches
 * its API server through in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT, the
 * ServiceAccount's token and CA at /var/run/secrets/kubernetes.io/serviceaccount), so whatever
 * stands here must serve HTTPS with a CA, and issue ServiceAccount tokens.
 *
 * Implementations (KEYLESS_SHIP_CLUSTER selects one; default `real`):
 * - `real`: the real control plane (real-ship-cluster.ts; kube-apiserver 1.36 on loopback with
 *   RBAC, tokens from TokenRequest), built by `npm run cluster-tools` (needs Go).
 * - `embedded`: the project's embedded API server behind an authenticating TLS front
 *   (embedded-ship-cluster.ts says why), for machines without Go; it enforces no RBAC.
 */
import { startEmbeddedShipCluster } from './embedded-ship-cluster.js';
import { startRealShipCluster } from './real-ship-cluster.js';

export interface ShipCluster {
  /** What this is, printed with the test's output. */
  readonly description: string;
  /** Whether the API server authorizes ServiceAccounts with the chart's RBAC (the embedded one does not). */
  readonly enforcesRbac: boolean;
  /** Port of the API server's HTTPS endpoint on the host's loopback (containers use the same port). */
  readonly port: number;
  /**
   * KUBERNETES_SERVICE_HOST for the containers; the serving certificate must be valid for it.
   * A DNS name is mapped to the host's loopback inside the container (`--add-host`); an IP address
   * must be 10.0.2.2, the host's loopback as containers see it (container-network.ts).
   */
  readonly serviceHost: string;
  /** PEM of the CA that signed the serving certificate (the ServiceAccount volume's ca.crt). */
  readonly caPem: string;
  /** A kubeconfig (YAML) with full rights, for the test's own setup and checks. */
  readonly adminKubeconfig: string;
  /** A token the API server issued to ServiceAccount `namespace/name` (TokenRequest). */
  issueServiceAccountToken(namespace: string, name: string, expirationSeconds: number): Promise<string>;
  /** Users of ServiceAccounts of `namespace` that made requests (embedded) or writes (real) so far. */
  authenticatedUsers?(namespace: string): Set<string>;
  close(): Promise<void>;
}

export type ShipClusterFactory = (workDir: string) => Promise<ShipCluster>;

const CLUSTERS: Record<string, ShipClusterFactory> = {
  real: startRealShipCluster,
  embedded: startEmbeddedShipCluster,
};

/** Start the selected cluster (KEYLESS_SHIP_CLUSTER, else the first of CLUSTERS). */
export async function startShipCluster(workDir: string): Promise<ShipCluster> {
  const name = process.env.KEYLESS_SHIP_CLUSTER || (Object.keys(CLUSTERS)[0] as string);
  const factory = CLUSTERS[name];
  if (!factory)
    throw new Error(`KEYLESS_SHIP_CLUSTER=${name}: known clusters are ${Object.keys(CLUSTERS).join(', ')}`);
  return factory(workDir);
}
