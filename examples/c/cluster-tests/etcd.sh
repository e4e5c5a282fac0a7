#!/usr/bin/env bash
# The C cluster tests' etcd fixture: etcd members on free loopback ports with a temporary data
# directory, and their stop. Stops only what it started (the pids in DIR/m<i>.pid).
#
#   etcd.sh start DIR [MEMBERS]   start MEMBERS (default 1) members under DIR (created), wait
#                                 until every member answers a health check (quorum read),
#                                 print the client endpoints comma-separated (also DIR/endpoints)
#   etcd.sh stop-member DIR I     SIGTERM member I (a clean stop; 5 s, then SIGKILL)
#   etcd.sh stop DIR              stop every member and remove DIR
set -euo pipefail

# A port nothing listens on now (bash's /dev/tcp); a race with another process is handled by
# retrying the whole start with fresh ports.
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

stop_member() {
    local f="$1/m$2.pid" pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f")
    rm -f "$f"
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
    local f
    for f in "$1"/m*.pid; do
        [ -e "$f" ] || continue
        f=${f##*/m}
        stop_member "$1" "${f%.pid}"
    done
}

try_start() {
    local dir=$1 n=$2 i cluster="" eps="" token
    token="ftf-c-$$-$RANDOM"
    local -a cport pport
    for ((i = 0; i < n; i++)); do
        cport[i]=$(free_port)
        pport[i]=$(free_port)
        cluster+="${cluster:+,}m$i=http://127.0.0.1:${pport[i]}"
        eps+="${eps:+,}http://127.0.0.1:${cport[i]}"
    done
    for ((i = 0; i < n; i++)); do
        etcd --name "m$i" --data-dir "$dir/m$i.etcd" \
            --listen-client-urls "http://127.0.0.1:${cport[i]}" \
            --advertise-client-urls "http://127.0.0.1:${cport[i]}" \
            --listen-peer-urls "http://127.0.0.1:${pport[i]}" \
            --initial-advertise-peer-urls "http://127.0.0.1:${pport[i]}" \
            --initial-cluster "$cluster" --initial-cluster-token "$token" \
            --initial-cluster-state new </dev/null >"$dir/m$i.log" 2>&1 &
        echo $! >"$dir/m$i.pid"
    done
    for _ in $(seq 300); do
        if ETCDCTL_API=3 etcdctl --endpoints "$eps" --dial-timeout=1s --command-timeout=1s \
            endpoint health >/dev/null 2>&1; then
            echo "$eps" >"$dir/endpoints"
            echo "$eps"
            return 0
        fi
        for ((i = 0; i < n; i++)); do
            kill -0 "$(cat "$dir/m$i.pid")" 2>/dev/null || return 1
        done
        sleep 0.1
    done
    return 1
}

case "${1:-}" in
start)
    dir=$2 n=${3:-1}
    command -v etcd >/dev/null || { echo "etcd.sh: etcd is not installed" >&2; exit 2; }
    for _ in 1 2 3; do
        rm -rf "$dir" && mkdir -p "$dir"
        if try_start "$dir" "$n"; then exit 0; fi
        tail -n 5 "$dir"/m*.log >&2 || true
        stop_all "$dir"
    done
    echo "etcd.sh: $n member(s) did not come up" >&2
    exit 1
    ;;
stop-member) stop_member "$2" "$3" ;;
stop)
    stop_all "$2"
    rm -rf "$2"
    ;;
*)
    echo "usage: etcd.sh start DIR [MEMBERS] | stop-member DIR I | stop DIR" >&2
    exit 2
    ;;
esac
