#!/usr/bin/env bash
# Installs what building and testing Mailgenic needs on a fresh Debian machine, and nothing that is
# already there. Run as root (or with sudo). Idempotent.
#
#   clang, libclang-dev   RocksDB's C++ build (the rocksdb crate) and its bindgen step
#   python3, curl,        real clients used by the end-to-end tests
#   openssl, swaks, isync  (isync: mbsync)
set -euo pipefail

need=()
for pkg in clang libclang-dev python3 curl openssl swaks isync; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages: ${need[*]}; run this script as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${need[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (1.85 or newer) with rustup first" >&2
    exit 1
fi
