#!/usr/bin/env bash
# The rewriter against a saved baseline, run the same way on the same
# machine: criterion's rewrite bench at REV (a git worktree under
# target/baseline/REV, its own target dir) saved as baseline REV, then this
# work tree's compared with it. Criterion prints each benchmark's change
# with its confidence interval and p-value; a 5 % change on the 40,001-segment
# playlist shows clearly (its runs vary by about 1 %).
#
#   bench/rewrite-baseline.sh [REV] [MEASUREMENT_SECONDS]
#       default: origin/main if it exists, else HEAD; 4 s a benchmark
#
# Then, for the whole process as a user runs it, interleaved pairs of the
# rewrite_rate example built at REV and here (the same playlist, 40 rewrites
# a run, 15 pairs): the medians and their ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
REV="${1:-$(git rev-parse --verify -q origin/main || git rev-parse HEAD)}"
SECONDS_EACH="${2:-4}"
SHORT=$(git rev-parse --short "$REV")
TREE=target/baseline/$SHORT
export CRITERION_HOME="$PWD/target/criterion" CARGO_INCREMENTAL=0
ARGS=(--warm-up-time 1 --measurement-time "$SECONDS_EACH" --noplot)

if [ ! -d "$TREE" ]; then
  git worktree add --detach "$TREE" "$REV" >/dev/null
fi
echo "== baseline $SHORT (criterion, saved as $SHORT)"
(cd "$TREE" && cargo bench -q -p hlsgate-core --bench rewrite -- --save-baseline "$SHORT" "${ARGS[@]}")
echo "== this tree against $SHORT"
cargo bench -q -p hlsgate-core --bench rewrite -- --baseline "$SHORT" "${ARGS[@]}"

echo "== whole process, interleaved pairs (rewrite_rate, 40 rewrites of the 40,001-segment playlist)"
(cd "$TREE" && cargo build -q --release -p hlsgate-core --example rewrite_rate)
cargo build -q --release -p hlsgate-core --example rewrite_rate
KEY=fixtures/conformance/keys/test-rsa2048-pkcs1.pem
PLAYLIST=fixtures/hls/corpus/grafov__m3u8/sample-playlists/media-playlist-large.m3u8
BASE=https://d111111abcdef8.cloudfront.net/videos/abc123/index.m3u8
run() { "$1" "$KEY" "$PLAYLIST" "$BASE" 40 | awk '{print 1000 / $1}'; }
old=() new=()
for _ in $(seq 15); do
  old+=("$(run "$TREE/target/release/examples/rewrite_rate")")
  new+=("$(run target/release/examples/rewrite_rate)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m_old=$(median "${old[@]}") m_new=$(median "${new[@]}")
printf 'ms per playlist (signature + rewrite): %s %.3f, this tree %.3f, ratio %.3f\n' \
  "$SHORT" "$m_old" "$m_new" "$(awk -v a="$m_new" -v b="$m_old" 'BEGIN{print a/b}')"
