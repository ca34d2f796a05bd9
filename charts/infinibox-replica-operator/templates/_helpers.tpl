{{/* Names, labels and the lists every template shares. */}}

{{- define "iro.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The full name: release name + chart name, unless the release name already contains it. */}}
{{- define "iro.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 53 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "iro.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "iro.selectorLabels" -}}
app.kubernetes.io/name: {{ include "iro.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "iro.labels" -}}
helm.sh/chart: {{ include "iro.chart" . }}
{{ include "iro.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: infinibox-replica-operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "iro.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "iro.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "iro.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The leader-election Lease, in the release namespace: default the full name. */}}
{{- define "iro.leaseName" -}}
{{- default (include "iro.fullname" .) .Values.leaderElection.id -}}
{{- end -}}

{{/* The namespaces whose credential Secrets the operator may read, as JSON: default the release namespace. */}}
{{- define "iro.secretNamespaces" -}}
{{- if .Values.secretNamespaces -}}
{{- toJson .Values.secretNamespaces -}}
{{- else -}}
{{- toJson (list .Release.Namespace) -}}
{{- end -}}
{{- end -}}

{{/* The subject every binding names: the operator's ServiceAccount. */}}
{{- define "iro.subject" -}}
- kind: ServiceAccount
  name: {{ include "iro.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
{{- end -}}

{{/* Every shard the release runs, as JSON: "" (the default shard) first, then sharding.shards. */}}
{{- define "iro.shards" -}}
{{- prepend (.Values.sharding.shards | default list) "" | toJson -}}
{{- end -}}

{{/* One shard's object name (dict root, shard): the full name, "-<shard>" for a named shard. */}}
{{- define "iro.shardName" -}}
{{- if .shard -}}
{{- printf "%s-%s" (include "iro.fullname" .root) .shard | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- include "iro.fullname" .root -}}
{{- end -}}
{{- end -}}

{{/* One shard's pod selector (dict root, shard). The default shard keeps the selector of an
unsharded release (a Deployment's selector is immutable); a named shard's pods do not match it,
so no two Deployments or PodDisruptionBudgets select the same pods. */}}
{{- define "iro.shardSelectorLabels" -}}
{{- if .shard -}}
app.kubernetes.io/name: {{ include "iro.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: operator-shard
replication.infinibox.io/operator-shard: {{ .shard }}
{{- else -}}
{{ include "iro.selectorLabels" .root }}
{{- end -}}
{{- end -}}

{{/* One shard's object and pod labels (dict root, shard): iro.labels with the shard's selector. */}}
{{- define "iro.shardLabels" -}}
{{- if .shard -}}
helm.sh/chart: {{ include "iro.chart" .root }}
{{ include "iro.shardSelectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: infinibox-replica-operator
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- else -}}
{{ include "iro.labels" .root }}
{{- end -}}
{{- end -}}
