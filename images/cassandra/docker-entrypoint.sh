#!/bin/bash
# Entrypoint of the devenv Cassandra image, with the environment contract of the official
# image's docker-entrypoint.sh (which Navigator's Cassandra pilot runs): with no arguments, or
# arguments starting with '-', it runs `cassandra -f`; before running `cassandra` it renders
# $CASSANDRA_CONF/cassandra.yaml and cassandra-rackdc.properties in place from:
#
#   CASSANDRA_LISTEN_ADDRESS     'auto', unset or blank (Navigator sets " ") -> this pod's IP
#   CASSANDRA_BROADCAST_ADDRESS  default: the listen address ('auto'/blank -> the pod's IP)
#   CASSANDRA_RPC_ADDRESS        default 0.0.0.0 ('auto'/blank -> the pod's IP)
#   CASSANDRA_BROADCAST_RPC_ADDRESS  default: the broadcast address
#   CASSANDRA_SEEDS              default: the broadcast address (comma-separated host[:port])
#   CASSANDRA_CLUSTER_NAME, CASSANDRA_ENDPOINT_SNITCH, CASSANDRA_NUM_TOKENS
#   CASSANDRA_DC, CASSANDRA_RACK (cassandra-rackdc.properties, for GossipingPropertyFileSnitch)
#
# The pod's IP is POD_IP if set (Navigator sets it from status.podIP), else the first
# non-loopback IPv4 address of `hostname -i`. Data lives in $CASSANDRA_DATA (/var/lib/cassandra).
# If $CASSANDRA_CONF has no cassandra.yaml yet, the templates from $CASSANDRA_HOME/conf are
# copied there first; if it is read-only, it is copied to /run/cassandra/conf and rendered there. Unlike the official image it does not switch users (the pod's runAsUser
# applies).
set -euo pipefail

if [ $# -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- cassandra -f "$@"
fi

export CASSANDRA_HOME="${CASSANDRA_HOME:-/opt/cassandra}"
export CASSANDRA_CONF="${CASSANDRA_CONF:-/etc/cassandra}"
export CASSANDRA_DATA="${CASSANDRA_DATA:-/var/lib/cassandra}"
export PATH="$CASSANDRA_HOME/bin:$PATH"

pod_ip() {
  if [ -n "${POD_IP:-}" ]; then echo "$POD_IP"; return; fi
  local a
  for a in $(hostname -i 2>/dev/null) $(hostname -I 2>/dev/null); do
    case "$a" in 127.*|*:*) ;; *) echo "$a"; return ;; esac
  done
  echo 127.0.0.1
}

# 'auto' or blank -> the pod's IP; anything else as given.
resolve_addr() {
  local v="${1//[[:space:]]/}"
  if [ -z "$v" ] || [ "$v" = auto ]; then pod_ip; else echo "$v"; fi
}

# set_key FILE KEY VALUE: replace the (possibly commented-out) "KEY:" line of a YAML file.
set_key() {
  local v="${3//\\/\\\\}"; v="${v//&/\\&}"; v="${v//|/\\|}"
  sed -ri "s|^(# ?)?($2:).*|\\2 $v|" "$1"
}

if [ "$1" = cassandra ]; then
  # A read-only configuration directory (an image directory shared by several pods, as devenv's
  # pod runner binds it) is rendered as a private copy in /run/cassandra/conf instead.
  if [ -e "$CASSANDRA_CONF/cassandra.yaml" ] && [ ! -w "$CASSANDRA_CONF/cassandra.yaml" ]; then
    mkdir -p /run/cassandra/conf
    cp -r "$CASSANDRA_CONF/." /run/cassandra/conf/
    chmod -R u+w /run/cassandra/conf
    export CASSANDRA_CONF=/run/cassandra/conf
  fi
  mkdir -p "$CASSANDRA_CONF"
  if [ ! -e "$CASSANDRA_CONF/cassandra.yaml" ]; then
    cp -r "$CASSANDRA_HOME/conf/." "$CASSANDRA_CONF/"
  fi
  for f in "$CASSANDRA_HOME"/conf/*; do
    [ -e "$CASSANDRA_CONF/${f##*/}" ] || cp "$f" "$CASSANDRA_CONF/"
  done
  yaml="$CASSANDRA_CONF/cassandra.yaml"

  listen="$(resolve_addr "${CASSANDRA_LISTEN_ADDRESS-auto}")"
  broadcast="$(resolve_addr "${CASSANDRA_BROADCAST_ADDRESS-$listen}")"
  rpc="$(resolve_addr "${CASSANDRA_RPC_ADDRESS-0.0.0.0}")"
  broadcast_rpc="$(resolve_addr "${CASSANDRA_BROADCAST_RPC_ADDRESS-$broadcast}")"
  seeds="${CASSANDRA_SEEDS:-$broadcast}"
  seeds="${seeds//[[:space:]]/}"

  set_key "$yaml" listen_address "$listen"
  set_key "$yaml" broadcast_address "$broadcast"
  set_key "$yaml" rpc_address "$rpc"
  set_key "$yaml" broadcast_rpc_address "$broadcast_rpc"
  sed -ri "s|^( *- seeds:).*|\\1 \"$seeds\"|" "$yaml"
  if [ -n "${CASSANDRA_CLUSTER_NAME:-}" ]; then
    set_key "$yaml" cluster_name "'${CASSANDRA_CLUSTER_NAME//\'/\'\'}'"
  fi
  [ -z "${CASSANDRA_ENDPOINT_SNITCH:-}" ] || set_key "$yaml" endpoint_snitch "$CASSANDRA_ENDPOINT_SNITCH"
  [ -z "${CASSANDRA_NUM_TOKENS:-}" ] || set_key "$yaml" num_tokens "$CASSANDRA_NUM_TOKENS"
  if [ "$CASSANDRA_DATA" != /var/lib/cassandra ]; then
    sed -ri "s|/var/lib/cassandra/|$CASSANDRA_DATA/|" "$yaml"
  fi

  rackdc="$CASSANDRA_CONF/cassandra-rackdc.properties"
  [ -z "${CASSANDRA_DC:-}" ] || sed -ri "s|^(dc=).*|\\1${CASSANDRA_DC}|" "$rackdc"
  [ -z "${CASSANDRA_RACK:-}" ] || sed -ri "s|^(rack=).*|\\1${CASSANDRA_RACK}|" "$rackdc"

  mkdir -p "$CASSANDRA_DATA"
  echo "docker-entrypoint: listen=$listen broadcast=$broadcast rpc=$rpc seeds=$seeds" \
       "cluster=${CASSANDRA_CLUSTER_NAME:-} snitch=${CASSANDRA_ENDPOINT_SNITCH:-} dc=${CASSANDRA_DC:-} rack=${CASSANDRA_RACK:-}"
fi

exec "$@"
