/** What the API server child creates before serving, shared by the benches. */

/** What to create before serving. */
export interface Seed {
  workloads: number;
  /** Manual DeployRequests per workload (0: none). */
  requestsPerWorkload: number;
  /** Repository id the policies allow for OIDC dispatches. */
  repositoryId: string;
  /** Simulated rollout step; 0 is instant. */
  stepMs: number;
}

export function namespaceOf(index: number): string {
  return `bench-${index}`;
}
