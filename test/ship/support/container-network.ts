/**
 * The network a containerised pod gets: its own network namespace (slirp4netns), as a pod has its
 * own, with the host's loopback reachable at 10.0.2.2, where the API server and the test's OIDC
 * issuer listen. Ports are published on the host's loopback only.
 */
import { isIP } from 'node:net';

/** Where containers reach the host's loopback (slirp4netns with allow_host_loopback). */
export const HOST_LOOPBACK_FROM_CONTAINER = '10.0.2.2';

/** podman flags of the pod network; a DNS name for the API server resolves to the host's loopback. */
export function podNetworkFlags(serviceHost: string): string[] {
  const flags = ['--network', 'slirp4netns:allow_host_loopback=true'];
  if (isIP(serviceHost) === 0) flags.push('--add-host', `${serviceHost}:${HOST_LOOPBACK_FROM_CONTAINER}`);
  else if (serviceHost !== HOST_LOOPBACK_FROM_CONTAINER)
    throw new Error(
      `the API server's service host ${serviceHost} is not reachable from a container: use a DNS name or ${HOST_LOOPBACK_FROM_CONTAINER}`,
    );
  return flags;
}
