{{/* Labels every object carries. */}}
{{- define "navigator.labels" -}}
app.kubernetes.io/part-of: navigator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The image of a Navigator component: (dict "root" $ "repository" "navigator-apiserver"). */}}
{{- define "navigator.image" -}}
{{- $tag := .root.Values.image.tag | default .root.Chart.AppVersion -}}
{{- if .root.Values.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .repository $tag -}}
{{- else -}}
{{- printf "%s:%s" .repository $tag -}}
{{- end -}}
{{- end }}

{{/* The pilot image the controller gives database pods. */}}
{{- define "navigator.pilotImage" -}}
{{- .Values.controller.pilotImage | default (include "navigator.image" (dict "root" . "repository" "navigator-pilot")) -}}
{{- end }}

{{/* The apiserver Service's DNS names (the serving certificate's SANs). */}}
{{- define "navigator.apiserverDNSNames" -}}
{{- $ns := .Release.Namespace -}}
{{- list "navigator-apiserver" (printf "navigator-apiserver.%s" $ns) (printf "navigator-apiserver.%s.svc" $ns) (printf "navigator-apiserver.%s.svc.cluster.local" $ns) | toJson -}}
{{- end }}

{{/* etcd's client URLs for navigator-apiserver. */}}
{{- define "navigator.etcdServers" -}}
{{- if eq .Values.etcd.mode "internal" -}}
{{- printf "http://navigator-etcd.%s.svc:2379" .Release.Namespace -}}
{{- else if eq .Values.etcd.mode "external" -}}
{{- required "etcd.external.servers must name at least one server when etcd.mode is external" (join "," .Values.etcd.external.servers) -}}
{{- else -}}
{{- fail (printf "etcd.mode must be internal or external, not %q" .Values.etcd.mode) -}}
{{- end -}}
{{- end }}

{{/* The initial cluster of the internal etcd. */}}
{{- define "navigator.etcdInitialCluster" -}}
{{- $ns := .Release.Namespace -}}
{{- $members := list -}}
{{- range $i := until (int .Values.etcd.replicas) -}}
{{- $members = append $members (printf "navigator-etcd-%d=http://navigator-etcd-%d.navigator-etcd-peers.%s.svc:2380" $i $i $ns) -}}
{{- end -}}
{{- join "," $members -}}
{{- end }}
