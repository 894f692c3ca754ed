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
# run:      1,000 jobs of `true`: `steward run -j<cores>` vs `xargs -P<cores>
#           -I{}` vs GNU parallel (installed from Debian's packages when
#           missing and apt-get is available), best of 3.
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

run_jobs() {
    echo "== run: 1,000 jobs of true, $cores at a time"
    seq 1000 > "$work/inputs"
    if ! command -v parallel >/dev/null && command -v apt-get >/dev/null; then
        echo "installing GNU parallel from Debian's packages"
        (apt-get install -y -qq parallel >/dev/null 2>&1 || (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq parallel >/dev/null 2>&1)) || true
    fi
    local ours xargs_t
    ours=$(best_of 3 sh -c "'$steward' run -j$cores -- true {} < '$work/inputs'")
    xargs_t=$(best_of 3 sh -c "xargs -P$cores -I{} true {} < '$work/inputs'")
    echo "steward run: ${ours}s   xargs: ${xargs_t}s   ratio $(ratio "$ours" "$xargs_t") (goal <= 1.2)"
    if command -v parallel >/dev/null; then
        local gnu
        gnu=$(best_of 3 sh -c "parallel --will-cite -j$cores true {} < '$work/inputs'")
        echo "GNU parallel: ${gnu}s   ratio steward/parallel $(ratio "$ours" "$gnu") (goal <= 0.2)"
    else
        echo "GNU parallel is not installed and could not be: skipped"
    fi
}

case $what in
    checksum) checksum ;;
    run) run_jobs ;;
    all) checksum; run_jobs ;;
    *) echo "usage: $0 [checksum|run|all]" >&2; exit 2 ;;
esac
