#!/bin/bash
# Entrypoint of the devenv Elasticsearch 7.10.2 image, with the environment contract of the
# official image's docker-entrypoint.sh: every environment variable whose name looks like a
# setting (lower case with a dot: cluster.name, node.name, discovery.seed_hosts,
# cluster.initial_master_nodes, discovery.type, network.host, node.roles, path.data, ...) becomes
# an -Ekey=value option of `elasticsearch`; ES_JAVA_OPTS sets the heap (default 512m, from
# config/jvm.options). With no arguments, `eswrapper`, or arguments starting with '-', it runs
# `elasticsearch` (bin/elasticsearch); anything else is exec'd as given.
#
# Differences: the distribution is the OSS one (no x-pack: xpack.* settings are dropped with a
# note; plain HTTP); node.name defaults to the host name (the pod's name); unless network.host or
# network.publish_host is given, the node binds 0.0.0.0 and publishes the pod's IP (POD_IP, else
# the first non-loopback IPv4 address of `hostname -i`).
set -euo pipefail
export ES_HOME="${ES_HOME:-/usr/share/elasticsearch}"
export PATH="$ES_HOME/bin:$PATH"
HOSTNAME="${HOSTNAME:-$(hostname)}"
export HOSTNAME

if [ $# -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- elasticsearch "$@"
fi

if [ "$1" = elasticsearch ] || [ "$1" = eswrapper ]; then
  shift
  settings=()
  have_net=false
  while IFS= read -r -d '' entry; do
    key="${entry%%=*}"; value="${entry#*=}"
    if [[ "$key" =~ ^[a-z0-9_]+\.[a-z0-9_.]+$ || "$key" == processors ]] && [ -n "$value" ]; then
      case "$key" in
        xpack.*) echo "docker-entrypoint: no x-pack in this (OSS) distribution, ignoring $key" ;;
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
  mkdir -p "${ES_HOME}/data" 2>/dev/null || true
  echo "docker-entrypoint: elasticsearch ${settings[*]} $*"
  exec "$ES_HOME/bin/elasticsearch" "${settings[@]}" "$@"
fi

exec "$@"
