{{/* Name of the release's objects. */}}
{{- define "keyless.fullname" -}}
{{- printf "%s" .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "keyless.labels" -}}
app.kubernetes.io/name: keyless-deploy
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "keyless.selector" -}}
app.kubernetes.io/name: keyless-deploy
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "keyless.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Hardened pod and container security (non-root, read-only root filesystem, no capabilities). */}}
{{- define "keyless.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "keyless.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Secret holding the GitHub App's credentials. */}}
{{- define "keyless.githubSecret" -}}
{{- default (printf "%s-github-app" (include "keyless.fullname" .)) .Values.github.app.existingSecret -}}
{{- end -}}

{{/* Secret holding the attestation key: the user's, or the one the chart generates. */}}
{{- define "keyless.attestationSecret" -}}
{{- default (printf "%s-attestation" (include "keyless.fullname" .)) .Values.attestation.existingSecret -}}
{{- end -}}

{{/*
Audience tokens must carry: the value given, else the receiver's public URL (the OIDC convention),
else "keyless-deploy". NOTES.txt prints it, since workflows must request exactly this audience.
*/}}
{{- define "keyless.audience" -}}
{{- $r := .Values.receiver -}}
{{- if $r.oidcAudience -}}{{ $r.oidcAudience }}
{{- else if $r.publicUrl -}}{{ trimSuffix "/" $r.publicUrl }}
{{- else if and $r.ingress.enabled $r.ingress.host -}}https://{{ $r.ingress.host }}
{{- else if and $r.httpRoute.enabled $r.httpRoute.hostnames -}}https://{{ first $r.httpRoute.hostnames }}
{{- else -}}keyless-deploy
{{- end -}}
{{- end -}}

{{/* The receiver's rules: record requests, read policies. Never workloads. */}}
{{- define "keyless.receiverRules" -}}
- apiGroups: [keyless.dev]
  resources: [deployrequests]
  verbs: [create, get]
- apiGroups: [keyless.dev]
  resources: [deploypolicies]
  verbs: [list, watch]
{{- end -}}

{{/* The controller's rules: exactly the calls its code makes (test/chart/rbac-matches-code.test.ts). */}}
{{- define "keyless.controllerRules" -}}
- apiGroups: [keyless.dev]
  resources: [deployrequests]
  verbs: [get, list, watch, delete]
- apiGroups: [keyless.dev]
  resources: [deployrequests/status]
  verbs: [update{{ if .Values.github.app.enabled }}, patch{{ end }}]
- apiGroups: [keyless.dev]
  resources: [deploypolicies]
  verbs: [list, watch]
- apiGroups: [apps]
  resources: [deployments, statefulsets, daemonsets]
  verbs: [get, list, watch, patch]
- apiGroups: [batch]
  resources: [cronjobs]
  verbs: [get, list, watch, patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}
