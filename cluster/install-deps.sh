#!/usr/bin/env bash
# Installs what dptrain needs on a Debian (bookworm) machine: MPICH, oneDNN,
# zlib and the Fashion-MNIST dataset. Run as root or with sudo; safe to rerun.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    mpich libmpich-dev libdnnl-dev zlib1g-dev pkg-config dataset-fashion-mnist
