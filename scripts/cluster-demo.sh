#!/usr/bin/env bash
# The cluster demo (issue 8): a three-member etcd on loopback, four ftf-node processes,
# kill -9 of one node; prints detection, the quorum decision, the cluster-wide pause, the
# fenced lock and its token, the phases, the new incarnation and the resume, then runs the
# invariant checker. Exits non-zero when an invariant broke. Stops only what it started:
# the demo runs in its own process group (setsid), and the trap kills that group only.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v etcd >/dev/null || need+=(etcd-server)
command -v etcdctl >/dev/null || need+=(etcd-client)
command -v protoc >/dev/null || need+=(protobuf-compiler)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} (apt-get)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

cargo build -q -p ftforest-cluster --bins
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

pgid=""
cleanup() { if [ -n "$pgid" ]; then kill -TERM -- "-$pgid" 2>/dev/null || true; fi; }
trap cleanup EXIT INT TERM
setsid "$target/debug/ftf-demo" &
pgid=$!
set +e
wait "$pgid"
rc=$?
set -e
pgid=""
exit "$rc"
