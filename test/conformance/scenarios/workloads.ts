/**
 * The workload kinds the controller patches (Deployment, StatefulSet, DaemonSet, CronJob):
 * defaults, generation, the scale subresource, strategic merge of containers, validation, and
 * kubectl's tables once the (real or simulated) controllers have finished.
 */
import type { Scenario } from '../scenario.js';
import { CRONJOBS, DAEMONSETS, DEPLOYMENTS, STATEFULSETS, get, kubectl, patch, post, put } from './steps.js';

const template = (app: string, image = 'ghcr.io/acme/web:1.0.0'): Record<string, unknown> => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'web', image }] },
});

export const deployment = (name: string, spec: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, labels: { app: name } },
  spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: template(name), ...spec },
});

const statefulSet = (name: string): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: {
    replicas: 1,
    serviceName: name,
    selector: { matchLabels: { app: name } },
    template: template(name),
  },
});

const daemonSet = (name: string): Record<string, unknown> => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name },
  spec: { selector: { matchLabels: { app: name } }, template: template(name) },
});

const cronJob = (name: string, schedule = '*/5 * * * *'): Record<string, unknown> => ({
  apiVersion: 'batch/v1',
  kind: 'CronJob',
  metadata: { name },
  spec: {
    schedule,
    jobTemplate: {
      spec: {
        template: {
          spec: {
            restartPolicy: 'OnFailure',
            containers: [{ name: 'job', image: 'ghcr.io/acme/job:1.0.0' }],
          },
        },
      },
    },
  },
});

/** What controllers write at their own pace: compared only after waiting for the rollout. */
const CONTROLLED = ['status', 'metadata.annotations.deployment\\.kubernetes\\.io/revision'];

export const WORKLOAD_SCENARIOS: Scenario[] = [
  {
    name: 'deployment-defaults',
    area: 'workloads',
    steps: [post(DEPLOYMENTS, deployment('web'), { ignore: CONTROLLED })],
  },
  {
    name: 'deployment-rollout-table',
    area: 'workloads',
    steps: [
      post(DEPLOYMENTS, deployment('web'), { ignore: CONTROLLED, read: false }),
      kubectl('rollout status deployment/web -n {ns} --timeout=60s', { codeOnly: true }),
      get(`${DEPLOYMENTS}/web`),
      kubectl('get deployments -n {ns}'),
      kubectl('get deployment web -n {ns} -o wide'),
      kubectl('rollout history deployment/web -n {ns}'),
    ],
  },
  {
    name: 'deployment-generation',
    area: 'workloads',
    steps: [
      post(DEPLOYMENTS, deployment('web'), { ignore: CONTROLLED, read: false }),
      patch(
        `${DEPLOYMENTS}/web`,
        'merge',
        { metadata: { labels: { tier: 'front' } } },
        { ignore: CONTROLLED },
      ),
      patch(
        `${DEPLOYMENTS}/web`,
        'merge',
        { metadata: { annotations: { note: 'x' } } },
        { ignore: CONTROLLED },
      ),
      patch(`${DEPLOYMENTS}/web`, 'merge', { spec: { replicas: 2 } }, { ignore: CONTROLLED }),
      patch(`${DEPLOYMENTS}/web`, 'merge', { spec: { paused: true } }, { ignore: CONTROLLED }),
    ],
  },
  {
    name: 'deployment-strategic-containers',
    area: 'workloads',
    steps: [
      post(
        DEPLOYMENTS,
        deployment('web', {
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                { name: 'web', image: 'ghcr.io/acme/web:1.0.0', env: [{ name: 'A', value: '1' }] },
                { name: 'proxy', image: 'ghcr.io/acme/proxy:1.0.0' },
              ],
            },
          },
        }),
        { ignore: CONTROLLED, read: false },
      ),
      patch(
        `${DEPLOYMENTS}/web`,
        'strategic',
        {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'web', image: 'ghcr.io/acme/web:1.1.0', env: [{ name: 'B', value: '2' }] },
                ],
              },
            },
          },
        },
        { ignore: CONTROLLED },
      ),
      patch(
        `${DEPLOYMENTS}/web`,
        'strategic',
        { spec: { template: { spec: { containers: [{ name: 'proxy', $patch: 'delete' }] } } } },
        { ignore: CONTROLLED },
      ),
      patch(
        `${DEPLOYMENTS}/web`,
        'merge',
        { spec: { template: { spec: { containers: [{ name: 'only' }] } } } },
        {
          ignore: CONTROLLED,
        },
      ),
    ],
  },
  {
    name: 'deployment-scale',
    area: 'workloads',
    steps: [
      post(DEPLOYMENTS, deployment('web'), { ignore: CONTROLLED, read: false }),
      get(`${DEPLOYMENTS}/web/scale`, { ignore: ['status'] }),
      put(
        `${DEPLOYMENTS}/web/scale`,
        { apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: { name: 'web' }, spec: { replicas: 3 } },
        { ignore: CONTROLLED },
      ),
      patch(`${DEPLOYMENTS}/web/scale`, 'merge', { spec: { replicas: -1 } }, { ignore: CONTROLLED }),
      kubectl('scale deployment/web -n {ns} --replicas=2'),
      kubectl('scale deployment/web -n {ns} --replicas=4 --current-replicas=3'),
      kubectl('get deployment web -n {ns} -o jsonpath={.spec.replicas}'),
    ],
  },
  {
    name: 'deployment-invalid',
    area: 'workloads',
    steps: [
      post(DEPLOYMENTS, deployment('web', { selector: { matchLabels: { app: 'other' } } })),
      post(DEPLOYMENTS, deployment('web', { replicas: -1 })),
      post(
        DEPLOYMENTS,
        deployment('web', { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } } }),
      ),
      post(DEPLOYMENTS, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: {} }),
    ],
  },
  {
    name: 'deployment-set-image-undo',
    area: 'workloads',
    steps: [
      post(DEPLOYMENTS, deployment('web'), { ignore: CONTROLLED, read: false }),
      kubectl('rollout status deployment/web -n {ns} --timeout=60s', { codeOnly: true }),
      kubectl('set image deployment/web web=ghcr.io/acme/web:1.1.0 -n {ns}'),
      kubectl('rollout status deployment/web -n {ns} --timeout=60s', { codeOnly: true }),
      kubectl('rollout history deployment/web -n {ns}'),
      kubectl('rollout undo deployment/web -n {ns}'),
      kubectl('rollout status deployment/web -n {ns} --timeout=60s', { codeOnly: true }),
      kubectl('get deployment web -n {ns} -o jsonpath={.spec.template.spec.containers[0].image}'),
      kubectl('rollout history deployment/web -n {ns}'),
    ],
  },
  {
    name: 'statefulset-defaults-scale',
    area: 'workloads',
    steps: [
      post(STATEFULSETS, statefulSet('db'), { ignore: CONTROLLED }),
      patch(`${STATEFULSETS}/db/scale`, 'merge', { spec: { replicas: 2 } }, { ignore: CONTROLLED }),
      kubectl('rollout status statefulset/db -n {ns} --timeout=60s', { codeOnly: true }),
      kubectl('get statefulsets -n {ns}'),
    ],
  },
  {
    name: 'daemonset-defaults',
    area: 'workloads',
    steps: [post(DAEMONSETS, daemonSet('agent'), { ignore: CONTROLLED })],
  },
  {
    name: 'cronjob-defaults-and-patch',
    area: 'workloads',
    steps: [
      post(CRONJOBS, cronJob('nightly')),
      patch(`${CRONJOBS}/nightly`, 'strategic', {
        spec: {
          jobTemplate: {
            spec: { template: { spec: { containers: [{ name: 'job', image: 'ghcr.io/acme/job:2' }] } } },
          },
        },
      }),
      patch(`${CRONJOBS}/nightly`, 'merge', { spec: { suspend: true } }),
      kubectl('get cronjobs -n {ns}'),
    ],
  },
  {
    name: 'cronjob-invalid',
    area: 'workloads',
    steps: [
      post(CRONJOBS, cronJob('bad', 'every day')),
      post(CRONJOBS, { ...cronJob('bad2'), spec: { schedule: '* * * * *' } }),
    ],
  },
];
