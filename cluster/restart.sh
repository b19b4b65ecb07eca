#!/usr/bin/env bash
# Relaunches a dptrain job after a failure, resuming from its newest valid checkpoint,
# until it completes.
#
#   cluster/restart.sh [--attempts N] [--backoff SECONDS] [--max-backoff SECONDS] -- COMMAND...
#
# COMMAND is the job, e.g. `mpiexec -n 8 -f hosts .build/release/dptrain train --run-dir runs/a ...`;
# it must pass --run-dir and end with dptrain's options, because relaunches append
# `--resume auto`. Between attempts the script waits --backoff seconds (default 5), doubling up
# to --max-backoff (default 300); it relaunches at most --attempts times (default 3).
#
# A job counts as completed only when rank 0 has written RUN_DIR/completed: mpiexec's exit
# code alone is not trusted (a rank that exits without MPI_Finalize can still give 0,
# MPI-NOTES.md). Exit codes:
#   0           the job completed
#   64 65 66 76 the job failed in a way a relaunch would repeat (bad option, bad data or
#               checkpoint, missing file, NaN/Inf under --nan stop): no relaunch
#   75          this script got SIGTERM/SIGINT: it was passed on to the job, whose ranks save a
#               checkpoint and stop; no relaunch
#   other       the last attempt's code (1 if that was 0) once the relaunches are used up
set -u

attempts=3
backoff=5
max_backoff=300
usage="usage: cluster/restart.sh [--attempts N] [--backoff SECONDS] [--max-backoff SECONDS] -- COMMAND..."
while [ $# -gt 0 ]; do
  case $1 in
    --attempts) attempts=${2:?$usage}; shift 2 ;;
    --backoff) backoff=${2:?$usage}; shift 2 ;;
    --max-backoff) max_backoff=${2:?$usage}; shift 2 ;;
    --) shift; break ;;
    *) echo "restart.sh: unknown option '$1'; $usage" >&2; exit 64 ;;
  esac
done
for value in "$attempts" "$backoff" "$max_backoff"; do
  case $value in
    ''|*[!0-9]*) echo "restart.sh: '$value' is not a non-negative integer; $usage" >&2; exit 64 ;;
  esac
done
[ $# -gt 0 ] || { echo "restart.sh: no command; $usage" >&2; exit 64; }

run_dir=
previous=
for argument in "$@"; do
  case $argument in
    --run-dir=*) run_dir=${argument#--run-dir=} ;;
    *) [ "$previous" = "--run-dir" ] && run_dir=$argument ;;
  esac
  previous=$argument
done
[ -n "$run_dir" ] || { echo "restart.sh: the command must pass --run-dir DIR (its 'completed' marker ends the job)" >&2; exit 64; }

child=
stopping=0
forward() {
  stopping=1
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null
}
trap forward TERM INT

# Waits for the job; `wait` returns early when a trapped signal arrives, so wait again.
wait_for_job() {
  local status
  wait "$child"; status=$?
  while kill -0 "$child" 2>/dev/null; do wait "$child"; status=$?; done
  child=
  return $status
}

launch=0
delay=$backoff
while :; do
  rm -f "$run_dir/completed"
  if [ $launch -eq 0 ]; then "$@" & else "$@" --resume auto & fi
  child=$!
  wait_for_job; status=$?
  if [ -f "$run_dir/completed" ]; then
    [ $launch -gt 0 ] && echo "restart.sh: the job completed after $launch relaunch$([ $launch -gt 1 ] && echo es)" >&2
    exit 0
  fi
  if [ $stopping -eq 1 ]; then
    echo "restart.sh: stopped by a signal, passed on to the job (its ranks save a checkpoint and stop)" >&2
    exit 75
  fi
  case $status in
    64|65|66|76)
      echo "restart.sh: the job exited with code $status, which a relaunch would repeat; not relaunching" >&2
      exit $status ;;
  esac
  if [ $launch -ge "$attempts" ]; then
    echo "restart.sh: the job exited with code $status without completing; giving up after $attempts relaunches" >&2
    [ $status -eq 0 ] && exit 1
    exit $status
  fi
  launch=$((launch + 1))
  echo "restart.sh: the job exited with code $status without completing; relaunch $launch of $attempts with --resume auto in $delay s" >&2
  sleep "$delay" &
  child=$!
  wait_for_job
  [ $stopping -eq 1 ] && { echo "restart.sh: stopped by a signal before relaunching" >&2; exit 75; }
  delay=$((delay * 2 > max_backoff ? max_backoff : delay * 2))
done
