#!/usr/bin/env bash
# Checks that the release binaries carry the Swift runtime inside them (the Makefile's
# `swift build -c release --static-swift-stdlib`): `ldd` lists no library of the Swift toolchain
# (no libswiftCore.so, no libFoundation.so), the dynamic section has no RUNPATH/RPATH into the
# toolchain, and the binary runs. Prints the ldd output and the stripped size of each binary.
#
#   scripts/check-static-binary.sh            # builds first (a few minutes; longer on a busy machine)
#   scripts/check-static-binary.sh BIN_DIR    # checks the binaries already built in BIN_DIR
#
# Not part of .ci/run: a static release build takes 2 minutes on an idle 2-core machine and over
# 15 under load, past CI's budget. `make check` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ge 1 ]; then
    bin_dir=$1
else
    swift build -c release --static-swift-stdlib --product spoolrunner
    swift build -c release --static-swift-stdlib --product spoolrunner-http
    bin_dir=$(swift build -c release --static-swift-stdlib --show-bin-path)
fi
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")

status=0
for name in spoolrunner spoolrunner-http; do
    binary="$bin_dir/$name"
    if [ ! -x "$binary" ]; then
        echo "FAIL $binary: not built" >&2
        status=1
        continue
    fi
    echo "== ldd $binary"
    libraries=$(ldd "$binary" 2>&1 || true)
    echo "$libraries"
    if grep -Eq 'libswift|libFoundation|lib_Foundation|libdispatch|libBlocksRuntime|not found' <<<"$libraries" \
        || grep -Fq "$toolchain" <<<"$libraries"; then
        echo "FAIL $binary: links a Swift toolchain library (or one is missing): build with --static-swift-stdlib" >&2
        status=1
    fi
    paths=$(readelf -d "$binary" | grep -E 'RUNPATH|RPATH' || true)
    if [ -n "$paths" ]; then
        echo "$paths"
        if grep -Eq "swift|$toolchain" <<<"$paths"; then
            echo "FAIL $binary: RUNPATH into the Swift toolchain" >&2
            status=1
        fi
    else
        echo "(no RUNPATH/RPATH)"
    fi
    if ! env -i PATH=/usr/bin:/bin "$binary" --help >/dev/null 2>&1; then
        echo "FAIL $binary: does not run without the toolchain's environment" >&2
        status=1
    fi
    stripped=$(mktemp)
    strip -o "$stripped" "$binary"
    echo "size: $(stat -c %s "$binary") bytes, stripped $(stat -c %s "$stripped") bytes ($(( $(stat -c %s "$stripped") / 1048576 )) MiB)"
    rm -f "$stripped"
done
if [ "$status" -eq 0 ]; then echo "ok: no Swift runtime library, no RUNPATH into $toolchain"; fi
exit "$status"
