#!/bin/sh
# tests/setup.sh: makes a fresh Debian 12 machine ready and builds smartty into build/.
# Installs only the Debian packages that are missing (idempotent), then autogen, configure, make.
# Usage: sh tests/setup.sh [extra configure options]
set -eu
cd "$(dirname "$0")/.."
PKGS="build-essential autoconf automake libtool pkg-config libncurses-dev libreadline-dev libopenblas-dev libcsv-dev check libjansson-dev libutf8proc-dev zlib1g-dev tmux strace"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || ./autogen.sh >/dev/null
mkdir -p build
cd build
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
    ../configure --enable-werror "$@" >/dev/null
fi
make -j"$(nproc)" >/dev/null
echo "setup: built $(pwd)/smartty"
