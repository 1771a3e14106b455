#!/usr/bin/env bash
# Fuzzes one target with libFuzzer + AddressSanitizer for SECONDS seconds.
#
#   scripts/fuzz.sh TARGET SECONDS      TARGET: request | definition | template | cron
#   scripts/fuzz.sh TARGET build        only build .build/fuzz/fuzz-TARGET
#
# The targets run the checks of Tests/ProcessDefinitionsTests/Fuzz/FuzzChecks.swift, built with
# `swiftc -sanitize=fuzzer,address -parse-as-library` together with the ProcessDefinitions
# sources and Yams. Seeds come from Fuzz/Corpus/TARGET/ and the replay fixtures; the growing
# corpus is kept in .build/fuzz/corpus/TARGET/. Every crash, timeout or out-of-memory input is
# copied to Tests/ProcessDefinitionsTests/Fixtures/fuzz/TARGET/, where `swift test`
# (FuzzReplayTests) replays it: fix the bug, keep the fixture. Exit status 1 when one was found.
set -euo pipefail

target=${1:?usage: scripts/fuzz.sh request|definition|template|cron SECONDS|build}
seconds=${2:?usage: scripts/fuzz.sh TARGET SECONDS|build}
case $target in
    request) entry=RequestFuzzer ;;
    definition) entry=DefinitionFuzzer ;;
    template) entry=TemplateFuzzer ;;
    cron) entry=CronFuzzer ;;
    *) echo "fuzz.sh: unknown target '$target' (request, definition, template, cron)" >&2; exit 64 ;;
esac

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=.build/fuzz
mkdir -p "$out/yams" "$out/corpus/$target" "$out/artifacts/$target"
# Only this run's findings are reported (and copied into the fixtures).
rm -f "$out/artifacts/$target"/*

yams=.build/checkouts/Yams/Sources
if [ ! -d "$yams" ]; then
    swift package resolve >/dev/null
fi

# Yams and its C parser, instrumented too: definition loading spends most of its time there.
if [ ! -f "$out/yams/libYams.a" ] || [ "$0" -nt "$out/yams/libYams.a" ]; then
    objects=()
    for source in "$yams"/CYaml/src/*.c; do
        object="$out/yams/$(basename "$source" .c).o"
        clang -O1 -g -fsanitize=fuzzer-no-link,address -DYAML_DECLARE_STATIC -I "$yams/CYaml/include" -c "$source" -o "$object"
        objects+=("$object")
    done
    (cd "$out/yams" && swiftc -O -g -sanitize=fuzzer,address -parse-as-library -emit-library -static -D SWIFT_PACKAGE -Xcc -DYAML_DECLARE_STATIC \
        -emit-module -module-name Yams -I "$root/$yams/CYaml/include" "$root/$yams"/Yams/*.swift -o libYams.a)
fi

binary="$out/fuzz-$target"
sources=$(find Sources/ProcessDefinitions -name '*.swift' | sort)
swiftc -O -g -sanitize=fuzzer,address -parse-as-library -D FUZZING -module-name ProcessDefinitions \
    -I "$out/yams" -I "$yams/CYaml/include" \
    $sources Tests/ProcessDefinitionsTests/Fuzz/FuzzChecks.swift "Fuzz/Targets/$entry.swift" \
    "$out/yams/libYams.a" "$out"/yams/*.o -l_FoundationICU -o "$binary"
[ "$seconds" = build ] && { echo "built $binary"; exit 0; }

fixtures=Tests/ProcessDefinitionsTests/Fixtures/fuzz/$target
mkdir -p "$fixtures"
seeds=()
[ -d "Fuzz/Corpus/$target" ] && seeds+=("Fuzz/Corpus/$target")
seeds+=("$fixtures")
status=0
# The Swift runtime's own crash backtracer reads memory ASan then reports as a second crash.
export SWIFT_BACKTRACE=enable=no
"$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 \
    "$out/corpus/$target" "${seeds[@]}" 2>&1 | tee "$out/$target.log" | grep -E '^#[0-9]+.*(DONE|pulse|NEW)|ERROR|SUMMARY|stat::' | tail -n 40 || true
found=$(find "$out/artifacts/$target" -type f \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' -o -name 'leak-*' \) | sort)
if [ -n "$found" ]; then
    for file in $found; do cp "$file" "$fixtures/"; done
    echo "fuzz.sh: $target found $(echo "$found" | wc -l) failing input(s), copied to $fixtures (replayed by swift test)"
    status=1
fi
echo "fuzz.sh: $target ran ${seconds}s; log in $out/$target.log"
exit $status
