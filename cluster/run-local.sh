#!/usr/bin/env bash
# Runs N ranks of `dptrain train` on this machine: cluster/run-local.sh N [train options...]
# Each rank gets cores ÷ N threads unless --threads is given.
set -euo pipefail
ranks=${1:?usage: cluster/run-local.sh RANKS [dptrain train options...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
exec mpiexec -n "$ranks" "$root/.build/release/dptrain" train "$@"
