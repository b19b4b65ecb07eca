#!/usr/bin/env bash
# Runs dptrain across N namespace hosts of hosts.sh, one rank per host, the way
# it runs across N machines: mpiexec starts on host 1, hydra reaches the others
# through launcher.sh (in place of ssh), and UCX may only use TCP on eth0, so
# every byte between ranks crosses the veths.
#
#   cluster/netns/run.sh N [--rate RATE] [--timeout SECONDS] [--binary PATH] [--keep] -- DPTRAIN-ARGS...
#   e.g. cluster/netns/run.sh 4 -- train --batch-size 128 --micro-batch 32 --threads 1
#
# Prints dptrain's output, then `veth bytes: TOTAL ...`, the bytes the hosts sent
# on eth0. Exits with mpiexec's status (124: it ran longer than --timeout, 300 s
# by default). The hosts are made afresh, so the counters start at zero and a
# killed run's leftovers go, and are removed at the end unless --keep.
# The hosts share this machine's cores, but each rank sees one rank per host:
# pass --threads so that N × threads ≤ cores.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=cluster/netns/hosts.sh
. "$here/hosts.sh"

usage() {
    echo "usage: cluster/netns/run.sh N [--rate RATE] [--timeout SECONDS] [--binary PATH] [--keep] -- DPTRAIN-ARGS..." >&2
    exit 64
}

[ $# -gt 0 ] || usage
hosts=$1
shift
rate="" seconds=300 binary="$here/../../.build/release/dptrain" keep=false
while [ $# -gt 0 ]; do
    case $1 in
        --rate) rate=${2:?--rate needs a value, e.g. 1gbit}; shift 2 ;;
        --timeout) seconds=${2:?--timeout needs seconds}; shift 2 ;;
        --binary) binary=${2:?--binary needs a path}; shift 2 ;;
        --keep) keep=true; shift ;;
        --) shift; break ;;
        *) usage ;;
    esac
done
if [ ! -x "$binary" ]; then
    echo "run.sh: no executable $binary: run swift build -c release, or pass --binary PATH" >&2
    exit 66
fi
binary=$(realpath "$binary") # the hosts share the file system, so one path serves all
if ! reason=$(dpt_check); then
    echo "run.sh: $reason" >&2
    exit 69
fi
dpt_lock

work=$(mktemp -d)
job=""
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "$job" ]; then
        kill -TERM "$job" 2> /dev/null || true # timeout passes it to mpiexec, which passes it to the ranks
        wait "$job" 2> /dev/null || true
    fi
    if [ "$keep" = false ]; then dpt_down; fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

dpt_up "$hosts" "$rate"
for i in $(seq 1 "$hosts"); do echo "$(dpt_host_ip "$i"):1"; done > "$work/hostfile"

# mpiexec itself must run on one of the hosts. -iface eth0: the ranks and
# proxies call back to the address of host 1's eth0, never to a name that
# resolves to 127.0.0.1. UCX_TLS/UCX_NET_DEVICES: UCX would otherwise notice
# that the ranks share a machine and use shared memory. 9>&-: the job must not
# hold the lock if it outlives this script.
echo "run.sh: $hosts hosts$([ -n "$rate" ] && echo " at $rate"), mpiexec on $(dpt_host_ns 1): $binary $*" >&2
ip netns exec "$(dpt_host_ns 1)" env UCX_TLS=self,tcp UCX_NET_DEVICES=eth0 \
    timeout --kill-after=10 "$seconds" \
    mpiexec -f "$work/hostfile" -n "$hosts" -iface eth0 -launcher ssh -launcher-exec "$here/launcher.sh" \
    "$binary" "$@" 9>&- &
job=$! # wait in the background, so INT and TERM reach the trap at once
status=0
wait "$job" || status=$?
job=""
if [ "$status" = 124 ]; then echo "run.sh: mpiexec did not finish within $seconds s" >&2; fi

dpt_bytes | awk -v hosts="$hosts" '
    { total += $4; detail = detail sep $1 " tx " $4 " rx " $6; sep = ", " }
    END { printf "veth bytes: %d sent between %d hosts (%s)\n", total, hosts, detail }'
exit "$status"
