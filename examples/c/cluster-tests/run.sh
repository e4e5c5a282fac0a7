#!/usr/bin/env bash
# Runs the C cluster tests against real etcd on loopback (make check-cluster-c /
# asan-cluster-c / valgrind-cluster-c / bench-cluster-c).
#
#   run.sh BINDIR [WRAPPER...]        every BINDIR/cluster/test_*, then the C++ example
#   run.sh BINDIR --only PROGRAM      one program (e.g. the benchmark) with etcd up
#
# BINDIR holds cluster_node, cluster_member_cpp and cluster/test_* (target/c or
# target/c/asan); WRAPPER (e.g. valgrind and its flags) is put in front of each program.
# A single-member etcd is started for everything, a fresh three-member one for test_quorum
# (which stops two of its members); both are stopped on exit. The programs find them through
# FTF_ETCD / FTF_ETCD3 / FTF_ETCD3_DIR, and the C node through FTF_CLUSTER_NODE.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bindir=$1
shift
tmp=$(mktemp -d)
trap '"$here/etcd.sh" stop "$tmp/e1"; "$here/etcd.sh" stop "$tmp/e3"; rm -rf "$tmp"' EXIT

# The wrapper's program name for the "== ..." lines (valgrind, not its flags).
label=""
for w in "$@"; do
    case $w in env | *=* | -*) ;; *) label="${w##*/} " && break ;; esac
done
FTF_ETCD=$("$here/etcd.sh" start "$tmp/e1" 1)
export FTF_ETCD FTF_CLUSTER_NODE="$bindir/cluster_node"
echo "etcd: $FTF_ETCD"
if [ "${1:-}" = --only ]; then
    "$2"
    exit
fi
for t in "$bindir"/cluster/test_*; do
    name=${t##*/}
    if [ "$name" = test_quorum ]; then
        FTF_ETCD3=$("$here/etcd.sh" start "$tmp/e3" 3)
        export FTF_ETCD3 FTF_ETCD3_DIR="$tmp/e3"
        echo "etcd (three members): $FTF_ETCD3"
    fi
    echo "== $label$name"
    "$@" "$t"
    if [ "$name" = test_quorum ]; then "$here/etcd.sh" stop "$tmp/e3"; fi
done
echo "== ${label}cluster_member_cpp (the C++ example)"
"$@" "$bindir/cluster_member_cpp" "$FTF_ETCD"
