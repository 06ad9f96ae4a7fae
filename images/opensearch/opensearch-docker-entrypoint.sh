#!/bin/bash
# Entrypoint of the devenv OpenSearch image, with the environment contract of the official
# image's opensearch-docker-entrypoint.sh: every environment variable whose name looks like a
# setting (lower case with a dot: cluster.name, node.name, discovery.seed_hosts,
# cluster.initial_cluster_manager_nodes, network.host, node.roles, path.data, ...) becomes an
# -Ekey=value option of `opensearch`; OPENSEARCH_JAVA_OPTS sets the heap (default 512m).
# With no arguments, or arguments starting with '-', it runs `opensearch` (bin/opensearch).
#
# Differences: there is no security plugin, so plugins.security.* settings are dropped (with a
# note) and the node speaks plain HTTP; node.name defaults to the host name (the pod's name);
# unless network.host or network.publish_host is given, the node binds 0.0.0.0 and publishes the
# pod's IP (POD_IP, else the first non-loopback IPv4 address of `hostname -i`).
set -euo pipefail
export OPENSEARCH_HOME="${OPENSEARCH_HOME:-/usr/share/opensearch}"
export PATH="$OPENSEARCH_HOME/bin:$PATH"
HOSTNAME="${HOSTNAME:-$(hostname)}"
export HOSTNAME

if [ $# -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- opensearch "$@"
fi

if [ "$1" = opensearch ] || [ "$1" = opensearchwrapper ]; then
  shift
  settings=()
  have_net=false
  while IFS= read -r -d '' entry; do
    key="${entry%%=*}"; value="${entry#*=}"
    if [[ "$key" =~ ^[a-z0-9_]+\.[a-z0-9_.]+$ || "$key" == processors ]] && [ -n "$value" ]; then
      case "$key" in
        plugins.security.*) echo "opensearch-docker-entrypoint: no security plugin, ignoring $key" ;;
        network.host|network.publish_host) have_net=true; settings+=("-E$key=$value") ;;
        *) settings+=("-E$key=$value") ;;
      esac
    fi
  done < <(env -0)
  for arg in "$@"; do
    case "$arg" in -Enetwork.host=*|-Enetwork.publish_host=*) have_net=true ;; esac
  done
  if [ "$have_net" = false ]; then
    ip="${POD_IP:-}"
    if [ -z "$ip" ]; then
      for a in $(hostname -i 2>/dev/null); do
        case "$a" in 127.*|*:*) ;; *) ip="$a"; break ;; esac
      done
    fi
    [ -z "$ip" ] || settings+=("-Enetwork.publish_host=$ip")
  fi
  mkdir -p "${OPENSEARCH_HOME}/data" 2>/dev/null || true
  echo "opensearch-docker-entrypoint: opensearch ${settings[*]} $*"
  exec "$OPENSEARCH_HOME/bin/opensearch" "${settings[@]}" "$@"
fi

exec "$@"
