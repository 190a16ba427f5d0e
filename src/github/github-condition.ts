/**
 * The DeployRequest condition the GitHub reporter owns: `GitHubReported`. It appears when reporting
 * fails (False, `GitHubReportFailed`, with GitHub's answer) and turns True once the report gets
 * through; a request whose reports never failed does not carry it. The deploy reconciler keeps it
 * as the reporter wrote it.
 */

/** Condition type of a DeployRequest's GitHub report. */
export const GITHUB_REPORTED = 'GitHubReported';

/** Reasons of the GitHubReported condition (and of the reporter's Events). */
export const GITHUB_REASON = {
  /** GitHub refused, failed or rate-limited a report; the message says how and whether it is retried. */
  failed: 'GitHubReportFailed',
  /** The report got through after a failure. */
  delivered: 'GitHubReportDelivered',
} as const;
