#!/usr/bin/env bash
# What `make test` and `make bench` need on a Debian 12 machine, installed
# when missing (idempotent: a machine that has everything is not touched,
# and apt is not asked).  As root it installs; otherwise it prints the one
# command to run and fails.  The .NET SDK (dotnet) must already be there:
# it does not come from Debian.
set -u
packages=(
  build-essential g++ make pkg-config binutils cmake       # the build, the install and CMake consumer tests
  clang-14 libclang-rt-14-dev valgrind libmimalloc-dev     # clang build, fuzzers, memcheck, the benchmark
  gcc-mingw-w64-x86-64-win32 gcc-mingw-w64-i686-win32 wine64  # Windows builds; x86-64 run under Wine
  gcc-i686-linux-gnu libc6-dev-i386-cross                  # Linux i686, natively or under qemu (below)
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user-static # Linux arm64, run under qemu
  libstdc++6-arm64-cross                                   # the arm64 .NET runtime under qemu
  libicu72 libssl3 zlib1g libstdc++6                       # what the .NET runtime runs on
  python3 libxml2                                          # the coverage test's normalizer; the CLR Instrumentation Engine
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/setup.sh: missing packages; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "tests/setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || { echo "tests/setup.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
# Linux i686 programs run natively where the kernel runs 32-bit programs,
# else under qemu-i386.  Debian 12's qemu (7.2) emulates a 32-bit guest's
# address space wrongly for the tests (MAP_FIXED_NOREPLACE taken for a hint,
# /proc/self/maps missing the part of a reservation above a hole), so the
# i386 emulator comes from bookworm-backports' qemu-user (10.x), unpacked
# into its own folder; the system's qemu-user-static (arm64) is untouched.
# Always, so that either path can be taken (MM_I686_QEMU=1 forces qemu).
qemu_dir=/opt/methodmalloc/qemu-user
if [ ! -x "$qemu_dir/usr/bin/qemu-i386" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "tests/setup.sh: qemu-i386 from bookworm-backports missing; run tests/setup.sh as root" >&2
    exit 1
  fi
  echo "tests/setup.sh: unpacking qemu-user from bookworm-backports into $qemu_dir (qemu-i386)"
  list=/etc/apt/sources.list.d/methodmalloc-backports.list
  [ -f "$list" ] || echo "deb http://deb.debian.org/debian bookworm-backports main" >"$list"
  deb=$(mktemp -d)
  if ! { apt-get update -qq && (cd "$deb" && apt-get download -qq qemu-user/bookworm-backports 2>/dev/null) \
         && mkdir -p "${qemu_dir%/*}" && dpkg -x "$deb"/qemu-user_*.deb "$qemu_dir.new" \
         && rm -rf "$qemu_dir" && mv "$qemu_dir.new" "$qemu_dir"; }; then
    rm -rf "$deb" "$qemu_dir.new"
    echo "tests/setup.sh: could not fetch qemu-user from bookworm-backports" >&2
    exit 1
  fi
  rm -rf "$deb"
fi
command -v dotnet >/dev/null || { echo "tests/setup.sh: the .NET SDK (dotnet) is required and not installed" >&2; exit 1; }
exit 0
