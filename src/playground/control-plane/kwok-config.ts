/**
 * kwok's configuration for the local control plane: which fake Nodes it runs and the Stages that
 * move Pods the way a kubelet would. Pods scheduled to a fake Node start Running and Ready, Pods of
 * Jobs then complete, and Pods with an image whose tag starts with `fail` never become Ready (their
 * containers wait in ImagePullBackOff), so the real deployment controller reports
 * `ProgressDeadlineExceeded`: the same convention as the embedded API server's simulation.
 */

/** Annotation that marks the Nodes kwok manages. */
export const FAKE_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

/**
 * A jq expression (kwok's selector language) that is `true` when any container's image tag starts
 * with `fail`: the tag is what follows the last `:` of the last path segment, before any digest.
 */
const FAILING_IMAGE =
  '[.spec.containers[].image | split("@")[0] | split("/") | last | split(":") | (.[1] // "") | startswith("fail")] | any';

/** Capacity of each fake Node: plenty, so scheduling never waits on resources. */
const CAPACITY = { cpu: '64', memory: '256Gi', pods: '250', 'ephemeral-storage': '1Ti' };

function capacityYaml(indent: string): string {
  return Object.entries(CAPACITY)
    .map(([name, value]) => `${indent}${name}: ${JSON.stringify(value)}`)
    .join('\n');
}

function nodeStage(name: string, ready: 'In' | 'NotIn', delayMs: number): string {
  return String.raw`
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: ${name}
spec:
  resourceRef:
    apiGroup: v1
    kind: Node
  selector:
    matchExpressions:
    - key: '.status.conditions.[] | select(.type == "Ready") | .status'
      operator: ${ready}
      values: ['True']
  delay:
    durationMilliseconds: ${delayMs}
  next:
    statusTemplate: |
      {{ $now := Now }}
      allocatable:
${capacityYaml('        ')}
      capacity:
${capacityYaml('        ')}
      conditions:
      - {type: Ready, status: "True", reason: KubeletReady, message: kwok runs this node, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
      - {type: MemoryPressure, status: "False", reason: KubeletHasSufficientMemory, message: fake, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
      - {type: DiskPressure, status: "False", reason: KubeletHasNoDiskPressure, message: fake, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
      - {type: PIDPressure, status: "False", reason: KubeletHasSufficientPID, message: fake, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
      - {type: NetworkUnavailable, status: "False", reason: RouteCreated, message: fake, lastHeartbeatTime: {{ $now | Quote }}, lastTransitionTime: {{ $now | Quote }}}
      nodeInfo:
        architecture: amd64
        operatingSystem: linux
        kubeletVersion: fake
        kubeProxyVersion: fake
      phase: Running
`;
}

const STAGES = String.raw`
${nodeStage('node-start', 'NotIn', 0)}---
${nodeStage('node-heartbeat', 'In', 30_000)}---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-running
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.spec.nodeName'
      operator: Exists
    - key: '.status.phase'
      operator: In
      values: ['Pending']
    - key: '${FAILING_IMAGE}'
      operator: NotIn
      values: ['true']
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Running
      startTime: {{ $now | Quote }}
      conditions:
      - {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "True", lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: true
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-image-pull-failing
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.spec.nodeName'
      operator: Exists
    - key: '.status.containerStatuses'
      operator: DoesNotExist
    - key: '${FAILING_IMAGE}'
      operator: In
      values: ['true']
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Pending
      startTime: {{ $now | Quote }}
      conditions:
      - {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "False", reason: ContainersNotReady, lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          waiting:
            reason: ImagePullBackOff
            message: 'kwok: images whose tag starts with "fail" never start'
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: job-pod-complete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: DoesNotExist
    - key: '.status.phase'
      operator: In
      values: ['Running']
    - key: '.metadata.ownerReferences.[].kind'
      operator: In
      values: ['Job']
  next:
    statusTemplate: |
      {{ $now := Now }}
      phase: Succeeded
      conditions:
      - {type: PodScheduled, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: Initialized, status: "True", lastTransitionTime: {{ $now | Quote }}}
      - {type: ContainersReady, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
      - {type: Ready, status: "False", reason: PodCompleted, lastTransitionTime: {{ $now | Quote }}}
      containerStatuses:
      {{ range .spec.containers }}
      - name: {{ .name | Quote }}
        image: {{ .image | Quote }}
        ready: false
        started: false
        restartCount: 0
        state:
          terminated:
            exitCode: 0
            reason: Completed
            startedAt: {{ $now | Quote }}
            finishedAt: {{ $now | Quote }}
      {{ end }}
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-delete
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: Exists
  next:
    delete: true
`;

/** kwok's configuration file: its options and the Stages above. */
export function kwokConfigYaml(): string {
  return `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  cidr: 10.244.0.0/16
  podPlayStageParallelism: 8
  nodePlayStageParallelism: 2
  nodeLeaseDurationSeconds: 40
  nodeLeaseParallelism: 2
  podsOnNodeSyncParallelism: 2
---${STAGES}`;
}

/** A fake Node that kwok runs. */
export function fakeNode(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [FAKE_NODE_ANNOTATION]: 'fake' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'kwok',
      },
    },
    spec: {},
  };
}
