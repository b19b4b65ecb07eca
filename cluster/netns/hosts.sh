#!/usr/bin/env bash
# A cluster of 2-4 hosts on one machine, for testing multi-host launches.
# Each host is a network namespace dpt-hI with eth0 = 10.99.0.I/24, joined by a
# veth pair to a bridge that lives in its own namespace (dpt-br), so the root
# namespace's network is never touched and traffic between hosts really crosses
# the veths (count it with `bytes`).
#
#   cluster/netns/hosts.sh up N [--rate RATE]  (re)create hosts 1..N; RATE (e.g. 1gbit)
#                                              caps each host's sending rate with tc tbf
#   cluster/netns/hosts.sh down                remove every dpt-br/dpt-hI namespace and
#                                              end the processes still running in them
#   cluster/netns/hosts.sh bytes               bytes each host sent and received on eth0
#   cluster/netns/hosts.sh check               says why namespaces can't be made here
#
# Needs root and iproute2. Safe to rerun: `up` first removes what a killed run
# left behind. run.sh and launcher.sh source this file for the names.
set -euo pipefail

readonly DPT_BRIDGE_NS=dpt-br
readonly DPT_SUBNET=10.99.0
readonly DPT_MAX_HOSTS=4
readonly DPT_LOCK=/run/lock/dpt-netns.lock

# Host I's namespace and address.
dpt_host_ns() { echo "dpt-h$1"; }
dpt_host_ip() { echo "$DPT_SUBNET.$1"; }

# The namespace of a host given as 10.99.0.I, dpt-hI or hI.
dpt_ns_of() {
    case $1 in
        "$DPT_SUBNET".[1-9] | dpt-h[1-9] | h[1-9]) dpt_host_ns "${1: -1}" ;;
        *) return 1 ;;
    esac
}

# Our namespaces that exist now, hosts first.
dpt_namespaces() {
    ip netns list | awk '{ print $1 }' | grep -E '^dpt-h[0-9]+$' | sort || true
    ip netns list | awk '{ print $1 }' | grep -Fx "$DPT_BRIDGE_NS" || true
}

# Serialises users of the namespaces (two runs would tear down each other's
# hosts). The lock goes with the process, so a killed run never leaves it held.
dpt_lock() {
    exec 9>"$DPT_LOCK"
    if ! flock -w 600 9; then
        echo "hosts.sh: another run has held $DPT_LOCK for 10 minutes" >&2
        return 1
    fi
}

dpt_check() {
    if [ "$(id -u)" != 0 ]; then echo "not root: network namespaces need root"; return 1; fi
    if ! command -v ip > /dev/null; then echo "no ip command: install iproute2"; return 1; fi
    local probe=dpt-probe-$$
    if ! ip netns add "$probe" 2> /dev/null; then
        echo "ip netns add fails here (no CAP_SYS_ADMIN, or no netns support)"
        return 1
    fi
    ip netns del "$probe"
}

dpt_down() {
    local ns pids
    for ns in $(dpt_namespaces); do
        # A namespace lives on while processes use it; end those left by a killed run.
        mapfile -t pids < <(ip netns pids "$ns")
        if [ "${#pids[@]}" -gt 0 ]; then kill -9 "${pids[@]}" 2> /dev/null || true; fi
        ip netns del "$ns"
    done
}

# dpt_up N [RATE]
dpt_up() {
    local hosts=$1 rate=${2:-} i ns
    if ! [[ $hosts =~ ^[0-9]+$ ]] || [ "$hosts" -lt 2 ] || [ "$hosts" -gt "$DPT_MAX_HOSTS" ]; then
        echo "hosts.sh: N must be 2..$DPT_MAX_HOSTS, not '$hosts'" >&2
        return 64
    fi
    dpt_down
    ip netns add "$DPT_BRIDGE_NS"
    ip -n "$DPT_BRIDGE_NS" link set lo up
    ip -n "$DPT_BRIDGE_NS" link add br0 type bridge
    ip -n "$DPT_BRIDGE_NS" link set br0 up
    for i in $(seq 1 "$hosts"); do
        ns=$(dpt_host_ns "$i")
        ip netns add "$ns"
        # Both ends are made from inside the namespaces: nothing appears in the root one.
        ip -n "$DPT_BRIDGE_NS" link add "veth-h$i" type veth peer name eth0 netns "$ns"
        ip -n "$DPT_BRIDGE_NS" link set "veth-h$i" master br0 up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$(dpt_host_ip "$i")/24" dev eth0
        ip -n "$ns" link set eth0 up
        if [ -n "$rate" ]; then
            # netem is not in every kernel; tbf is. The burst must hold a 64 KiB GSO packet.
            tc -n "$ns" qdisc replace dev eth0 root tbf rate "$rate" burst 512kb latency 100ms
        fi
    done
}

# One line per host: NAMESPACE IP tx BYTES rx BYTES (eth0 counters since `up`).
dpt_bytes() {
    local ns tx rx
    for ns in $(dpt_namespaces); do
        [ "$ns" = "$DPT_BRIDGE_NS" ] && continue
        tx=$(ip netns exec "$ns" cat /sys/class/net/eth0/statistics/tx_bytes)
        rx=$(ip netns exec "$ns" cat /sys/class/net/eth0/statistics/rx_bytes)
        echo "$ns $(dpt_host_ip "${ns#dpt-h}") tx $tx rx $rx"
    done
}

dpt_usage() {
    echo "usage: cluster/netns/hosts.sh up N [--rate RATE] | down | bytes | check" >&2
    return 64
}

dpt_main() {
    local command=${1:-}
    shift || true
    case $command in
        up)
            local hosts=${1:-} rate=""
            shift || true
            while [ $# -gt 0 ]; do
                case $1 in
                    --rate) rate=${2:?--rate needs a value, e.g. 1gbit}; shift 2 ;;
                    *) dpt_usage; return ;;
                esac
            done
            dpt_lock
            dpt_up "$hosts" "$rate"
            ;;
        down) dpt_lock; dpt_down ;;
        bytes) dpt_bytes ;;
        check) dpt_check ;;
        *) dpt_usage ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then dpt_main "$@"; fi
