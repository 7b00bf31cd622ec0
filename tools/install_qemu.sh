#!/usr/bin/env bash
# The emulated CPUs of the numerics test and `make emulate`: qemu-x86_64 (user-mode
# emulation, `qemu-x86_64 -cpu Haswell-v4 python ...`) from Debian's package qemu-user.
# Does nothing when it is already installed.
set -euo pipefail
if command -v qemu-x86_64 >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
qemu-x86_64 --version | head -1
