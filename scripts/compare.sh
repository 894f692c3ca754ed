#!/usr/bin/env bash
# Measures steward's command-line jobs against the tools people use today,
# on this machine, and prints wall-clock times and ratios.
#
#   scripts/compare.sh [checksum|run|all]   (default: all)
#
# checksum: `steward checksum DIR` vs `find DIR -type f -print0 | xargs -0
#           -P<cores> sha256sum`, on 10,000 small files plus three 100 MB
#           files, warm cache (one untimed pass first), best of 5; then
#           `steward checksum -c LIST` vs `sha256sum -c LIST` on the same
#           files (LIST as sha256sum wrote it), outputs compared, best of 5.
# run:      `steward run` vs `xargs -P2` vs GNU parallel (GNU parallel and
#           GNU time installed from Debian's packages when missing and
#           apt-get is available), each workload's commands interleaved in
#           one run, best of 5 for the time, the largest max RSS:
#           1,000 jobs of `true` at -j2 (goal: <= 1.2x xargs, <= 0.2x
#           parallel); 1,000,000 inputs stopped after 200 jobs (goal: < 30
#           MB); 300 jobs printing 1 MB each (goal: < 60 MB); 5,000 inputs
#           batched with -X (goal: <= 2x xargs batched).
set -euo pipefail

what=${1:-all}
cores=$(nproc)
root=$(cd "$(dirname "$0")/.." && pwd)
work=${COMPARE_DIR:-$(mktemp -d /tmp/steward-compare.XXXXXX)}
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --manifest-path "$root/Cargo.toml" --bin steward
steward="$root/target/release/steward"

# best_of N CMD...: the fastest wall-clock time of N runs, in seconds.
best_of() {
    local n=$1 best='' start end t
    shift
    for _ in $(seq "$n"); do
        start=$(date +%s.%N)
        "$@" >/dev/null
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    printf '%.4f' "$best"
}

ratio() { printf '%.3f' "$(echo "$1 / $2" | bc -l)"; }

checksum() {
    local tree="$work/tree"
    echo "== checksum: generating 10,000 small files and 3 x 100 MB in $tree"
    mkdir -p "$tree"
    python3 - "$tree" <<'PY'
import os, sys
root = sys.argv[1]
for d in range(100):
    sub = os.path.join(root, f"dir{d:03}")
    os.makedirs(sub, exist_ok=True)
    for f in range(100):
        with open(os.path.join(sub, f"file{f:03}.txt"), "wb") as out:
            out.write(os.urandom(512 + (d * 100 + f) % 4096))
for n in range(3):
    with open(os.path.join(root, f"big{n}.bin"), "wb") as out:
        for _ in range(100):
            out.write(os.urandom(1 << 20))
PY
    # Warm the cache and check both agree.
    "$steward" checksum "$tree" > "$work/steward.sum"
    (cd / && find "$tree" -type f -print0 | xargs -0 -P"$cores" sha256sum) | sort -k2 > "$work/xargs.sum"
    sort -k2 "$work/steward.sum" | diff - "$work/xargs.sum" > /dev/null && echo "outputs agree"
    local ours theirs
    ours=$(best_of 5 "$steward" checksum "$tree")
    theirs=$(best_of 5 sh -c "find '$tree' -type f -print0 | xargs -0 -P$cores sha256sum")
    echo "steward checksum: ${ours}s   find | xargs -P$cores sha256sum: ${theirs}s   ratio $(ratio "$ours" "$theirs") (goal <= 1.0)"

    echo "== checksum --check: verifying the same files against one list"
    (cd "$tree" && find . -type f -print0 | sort -z | xargs -0 sha256sum) > "$work/list.sha256"
    (cd "$tree" && "$steward" checksum -c "$work/list.sha256") > "$work/steward.check" 2>&1
    (cd "$tree" && sha256sum -c "$work/list.sha256") > "$work/sha256sum.check" 2>&1
    cmp -s "$work/steward.check" "$work/sha256sum.check" && echo "outputs agree ($(wc -l < "$work/list.sha256") files)"
    ours=$(best_of 5 sh -c "cd '$tree' && '$steward' checksum -c '$work/list.sha256'")
    theirs=$(best_of 5 sh -c "cd '$tree' && sha256sum -c '$work/list.sha256'")
    echo "steward checksum -c: ${ours}s   sha256sum -c: ${theirs}s   ratio $(ratio "$ours" "$theirs") (goal <= 0.5)"
}

# measure RUNS LABEL 'COMMAND' [LABEL 'COMMAND']...: runs each command
# (with sh -c) RUNS times, interleaved so that every tool sees the same
# load; sets best[LABEL] (seconds, the fastest run) and rss[LABEL] (KiB, the
# largest max RSS, as GNU time reports it).
declare -A best rss
measure() {
    local runs=$1 i label start end t kib
    shift
    local -a labels=() commands=()
    while [ $# -gt 0 ]; do labels+=("$1"); commands+=("$2"); shift 2; done
    for label in "${labels[@]}"; do best[$label]=''; rss[$label]=0; done
    for _ in $(seq "$runs"); do
        for i in "${!labels[@]}"; do
            label=${labels[$i]}
            start=$(date +%s.%N)
            /usr/bin/time -f %M -o "$work/rss" sh -c "${commands[$i]}" >/dev/null 2>"$work/stderr" || true
            end=$(date +%s.%N)
            t=$(echo "$end - $start" | bc -l)
            kib=$(tail -n 1 "$work/rss")
            if [ -z "${best[$label]}" ] || [ "$(echo "$t < ${best[$label]}" | bc -l)" = 1 ]; then
                best[$label]=$t
            fi
            if [ "$kib" -gt "${rss[$label]}" ]; then rss[$label]=$kib; fi
        done
    done
}

mib() { printf '%.1f MB' "$(echo "$1 / 1024" | bc -l)"; }
secs() { printf '%.3fs' "$1"; }

run_jobs() {
    local missing=()
    command -v parallel >/dev/null || missing+=(parallel)
    [ -x /usr/bin/time ] || missing+=(time)
    if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]} from Debian's packages"
        (apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
            (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1)) || true
    fi
    if ! command -v parallel >/dev/null || [ ! -x /usr/bin/time ]; then
        echo "GNU parallel or GNU time is missing and could not be installed: run skipped"
        return
    fi
    local gnu="parallel --will-cite"
    seq 1000 > "$work/1k"
    seq 1000000 > "$work/1m"
    seq 300 > "$work/300"
    seq 5000 > "$work/5k"
    echo "== run: best of 5, interleaved; load average $(cut -d' ' -f1-3 /proc/loadavg), $cores cores"

    measure 5 \
        steward "'$steward' run -j2 -- true {} < '$work/1k'" \
        xargs "xargs -P2 -I{} true {} < '$work/1k'" \
        parallel "$gnu -j2 true {} < '$work/1k'"
    echo "1,000 jobs of true, -j2: steward $(secs "${best[steward]}")   xargs -P2 $(secs "${best[xargs]}")   parallel $(secs "${best[parallel]}")"
    echo "    steward/xargs $(ratio "${best[steward]}" "${best[xargs]}") (goal <= 1.2)   steward/parallel $(ratio "${best[steward]}" "${best[parallel]}") (goal <= 0.2)"
    echo "    max RSS: steward $(mib "${rss[steward]}")   xargs $(mib "${rss[xargs]}")   parallel $(mib "${rss[parallel]}")"

    # xargs has no --halt: it stops at the input that exits 255, the 200th.
    measure 5 \
        steward "'$steward' run -j2 --halt now,done=200 -- true < '$work/1m'" \
        xargs "xargs -P2 -I{} sh -c '[ {} -lt 200 ] || exit 255' < '$work/1m'" \
        parallel "$gnu -j2 --halt now,done=200 true < '$work/1m'"
    echo "1,000,000 inputs, stopped after 200 jobs: max RSS steward $(mib "${rss[steward]}") (goal < 30 MB)   xargs $(mib "${rss[xargs]}")   parallel $(mib "${rss[parallel]}")"
    echo "    time: steward $(secs "${best[steward]}")   xargs $(secs "${best[xargs]}")   parallel $(secs "${best[parallel]}")"

    measure 5 \
        steward "'$steward' run -j2 sh -c 'head -c 1000000 /dev/zero' < '$work/300'" \
        xargs "xargs -P2 -I{} sh -c 'head -c 1000000 /dev/zero' < '$work/300'" \
        parallel "$gnu -j2 sh -c 'head -c 1000000 /dev/zero' < '$work/300'"
    echo "300 jobs x 1 MB of output, -j2: max RSS steward $(mib "${rss[steward]}") (goal < 60 MB)   xargs $(mib "${rss[xargs]}") (ungrouped)   parallel $(mib "${rss[parallel]}")"
    echo "    time: steward $(secs "${best[steward]}")   xargs $(secs "${best[xargs]}")   parallel $(secs "${best[parallel]}")"

    measure 5 \
        steward "'$steward' run -j2 -X true < '$work/5k'" \
        xargs "xargs -P2 true < '$work/5k'" \
        parallel "$gnu -j2 -X true < '$work/5k'"
    echo "5,000 inputs batched (-X; xargs batches by itself), -j2: steward $(secs "${best[steward]}")   xargs $(secs "${best[xargs]}")   parallel $(secs "${best[parallel]}")"
    echo "    steward/xargs $(ratio "${best[steward]}" "${best[xargs]}") (goal <= 2)   max RSS: steward $(mib "${rss[steward]}")   xargs $(mib "${rss[xargs]}")   parallel $(mib "${rss[parallel]}")"
}

case $what in
    checksum) checksum ;;
    run) run_jobs ;;
    all) checksum; run_jobs ;;
    *) echo "usage: $0 [checksum|run|all]" >&2; exit 2 ;;
esac
