{{- define "driftline.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's prefix: "driftline" for `helm install driftline`, so the Services are driftline-exporter and
driftline-webhook as the default config's alerting.retrain_webhook.url expects. */}}
{{- define "driftline.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "driftline.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "driftline.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "driftline.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/part-of: driftline
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "driftline.selector" -}}
app.kubernetes.io/name: {{ include "driftline.fullname" .root }}-{{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{- define "driftline.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "driftline.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "driftline.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* The monitor config the services read: the value, or the chart's default. */}}
{{- define "driftline.config" -}}
{{- default (.Files.Get "files/monitor.yaml") .Values.config -}}
{{- end -}}

{{/* The exporter's job label: alerting.exporter_job of the config, which the generated rules select. */}}
{{- define "driftline.exporterJob" -}}
{{- $config := include "driftline.config" . | fromYaml -}}
{{- default "driftline-exporter" (dig "alerting" "exporter_job" "" $config) -}}
{{- end -}}

{{/* A generated object (a value, or the chart's file) with the chart's labels and name. As JSON: YAML re-emitted by
toYaml leaves values such as matchType "=" unquoted, which YAML 1.1 readers take for a tag. */}}
{{- define "driftline.generated" -}}
{{- $object := .content | fromYaml -}}
{{- $labels := merge (dict) .extraLabels (dig "metadata" "labels" (dict) $object) (include "driftline.labels" .root | fromYaml) -}}
{{- $_ := set $object.metadata "labels" $labels -}}
{{- $_ := set $object.metadata "name" (printf "%s%s" (include "driftline.fullname" .root) .suffix) -}}
{{ toJson $object }}
{{- end -}}
