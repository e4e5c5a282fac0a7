#!/usr/bin/env bash
# The cluster demo (issues 8 and 9): a three-member etcd on loopback, four nodes in one
# cluster, two Rust ftf-node processes (n0, n1) and two C nodes (n2, n3:
# examples/c/cluster_node.c on libftforest), kill -9 of the C node n3; prints detection (each
# survivor's, C and Rust, from the same run), the quorum decision, the cluster-wide pause,
# the fenced lock and its token, the phases, the new incarnation and the resume, that the
# rank was recovered exactly once, then runs the invariant checker over etcd's history and
# all four logs. Exits non-zero when an invariant broke. Stops only what it started: the
# demo runs in its own process group (setsid), and the trap kills that group only.
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
# The C node: libftforest (with the cluster) and examples/c/cluster_node.c.
make -s cluster-node >/dev/null
export FTF_C_NODE="$PWD/target/c/cluster_node"

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
