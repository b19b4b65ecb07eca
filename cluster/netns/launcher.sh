#!/usr/bin/env bash
# Plays ssh for MPICH's hydra on the namespace hosts of hosts.sh:
#   mpiexec -launcher ssh -launcher-exec cluster/netns/launcher.sh ...
# hydra calls it as `launcher.sh [-x] HOST COMMAND...` with HOST from the host
# file (10.99.0.I, or dpt-hI / hI). Like ssh, it joins COMMAND into one line and
# runs it with a shell, here inside HOST's namespace.
set -euo pipefail
# shellcheck source=cluster/netns/hosts.sh
. "$(dirname "${BASH_SOURCE[0]}")/hosts.sh"

if [ "${1:-}" = "-x" ]; then shift; fi
host=${1:?usage: launcher.sh [-x] HOST COMMAND...}
shift
if ! ns=$(dpt_ns_of "$host"); then
    echo "launcher.sh: '$host' is not a namespace host (10.99.0.I, dpt-hI or hI)" >&2
    exit 255 # what ssh returns when it cannot reach the host
fi
exec ip netns exec "$ns" sh -c "$*"
