#!/usr/bin/env bash
# Installs what dptrain needs on a Debian (bookworm) machine: MPICH, oneDNN,
# zlib and the Fashion-MNIST dataset. With --test, also what the test suite
# uses to check our files with other tools' readers (PyPI: numpy, safetensors,
# tensorboard, onnx, onnxruntime). Run as root or with sudo; safe to rerun.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    mpich libmpich-dev libdnnl-dev zlib1g-dev pkg-config dataset-fashion-mnist iproute2
if [ "${1:-}" = "--test" ]; then
    python3 -m pip install -q --disable-pip-version-check numpy safetensors tensorboard onnx onnxruntime
fi
