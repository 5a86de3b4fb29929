#!/usr/bin/env bash
# Installs what building and testing bonsai needs on Debian 12, as root: the compiler toolchain
# and the -dev libraries bonsai links against (all from Debian's archive), plus the command-line
# tools the tests compare with, what `bonsai base` runs (gpgv with Debian's archive keyring;
# gnupg makes throwaway keys in the tests) and git, which ADD of a git repository runs.
# Idempotent: only missing packages are installed.
set -euo pipefail
pkgs=(
  g++ cmake ninja-build pkg-config clang clang-format clang-tidy
  libssl-dev libcurl4-openssl-dev libarchive-dev libdeflate-dev libisal-dev libzstd-dev
  liblzma-dev libbz2-dev
  nlohmann-json3-dev libcli11-dev libfmt-dev libsqlite3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 gzip pigz zstd xz-utils bzip2 isal libdeflate-tools time curl busybox-static
  gpgv debian-archive-keyring gnupg git openssh-client
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
