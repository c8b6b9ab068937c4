#!/usr/bin/env bash
# Rewrites the same playlist with hlsgate (one signature per playlist, then the
# byte-preserving scanner) and with the seed-style Node approach (split on
# "\n", @aws-sdk/cloudfront-signer's getSignedUrl for every segment), and
# prints both rates and the ratio.
#
#   bench/compare-rewrite.sh [PLAYLIST] [NODE_RUNS]
#       default: fixtures/hls/bench/movie-2h.m3u8 (1,800 segments), 3 runs
#
# Node's package goes into bench/node_modules (git-ignored). Each side runs
# three times; the best run counts.
set -euo pipefail
cd "$(dirname "$0")/.."
PLAYLIST="${1:-fixtures/hls/bench/movie-2h.m3u8}"
NODE_RUNS="${2:-3}"
KEY=fixtures/conformance/keys/test-rsa2048-pkcs1.pem
BASE=https://d111111abcdef8.cloudfront.net/videos/abc123/index.m3u8

. bench/lib.sh
ensure_node_signer
cargo build --quiet --release -p hlsgate-core --example rewrite_rate
RUST=target/release/examples/rewrite_rate

uris=$(grep -cv '^#\|^$' "$PLAYLIST" || true)
r=$(best "$RUST" "$KEY" "$PLAYLIST" "$BASE" 2000)
n=$(best node bench/node-rewrite.mjs "$KEY" "$PLAYLIST" "$BASE" "$NODE_RUNS")
printf '%-40s %14s %14s %10s\n' "playlist ($uris URI lines, RSA-2048)" "hlsgate/s" "node/s" "ratio"
printf '%-40s %14s %14s %9.0fx\n' "$(basename "$PLAYLIST")" "$r" "$n" \
  "$(ratio "$r" "$n")"
printf 'per playlist: hlsgate %.3f ms, node %.1f ms\n' \
  "$(awk -v a="$r" 'BEGIN{print 1000/a}')" "$(awk -v b="$n" 'BEGIN{print 1000/b}')"
machine
