#!/usr/bin/env bash
# Load test of the real manifest-rewriter binary, run as Lambda runs it: one
# instance answering one request at a time through a Lambda Runtime API
# emulator (crates/manifest-rewriter/examples/lambda_harness.rs), with s3s-fs
# as S3. wrk sends REQUESTS requests for the 2-hour playlist (1,800 segments,
# RSA-2048 folder policy) over one connection and prints p50/p99 and errors;
# the harness reports cold start (process start -> first response) and RSS.
#
#   bench/load-rewriter.sh                 # 20,000 requests, identity body
#   REQUESTS=5000 ENCODING=gzip bench/load-rewriter.sh
#
# The playlist is read from S3 once and then served from the function's cache
# (CACHE_TTL_SECONDS=3600), so the latency is the function's own work plus
# the emulator's hop, without S3 time.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

REQUESTS=${REQUESTS:-20000}
COLD_RUNS=${COLD_RUNS:-20}
PORT=${PORT:-9000}
ENCODING=${ENCODING:-identity}
CDN=d111111abcdef8.cloudfront.net

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "load-rewriter: wrk is missing (apt-get install wrk)" >&2
    exit 1
  fi
fi

cargo build --quiet --release --locked -p hlsgate-manifest-rewriter \
  --bin manifest-rewriter --example lambda_harness
cargo build --quiet --release --locked -p hlsgate

work=$(mktemp -d)
harness_pid=
cleanup() {
  [ -n "$harness_pid" ] && kill "$harness_pid" 2>/dev/null || true
  # LOGS=FILE keeps the function's JSON log lines.
  [ -n "${LOGS:-}" ] && cp "$work/harness.err" "$LOGS"
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/data/media/videos/bench"
cp fixtures/hls/bench/movie-2h.m3u8 "$work/data/media/videos/bench/movie.m3u8"

query=$(target/release/hlsgate sign \
  --url "https://$CDN/videos/bench/movie.m3u8" \
  --policy-resource "https://$CDN/videos/bench/*" \
  --key-pair-id K2JCJMDEHXQW5F \
  --private-key fixtures/conformance/keys/test-rsa2048-pkcs1.pem \
  --expires 2h --format query)
# CloudFront forwards only the -PREFIX copy to the origin.
forwarded=$(echo "$query" | sed -E 's/(^|&)([A-Za-z-]+)=/\1\2-PREFIX=/g')
path="/videos/bench/movie.m3u8?$forwarded"

secret=load-test-origin-secret
pem=$(awk '{printf "%s\\n", $0}' fixtures/conformance/keys/test-rsa2048-public.pem)
export MEDIA_BUCKET=media CDN_DOMAIN=$CDN ORIGIN_SECRET=$secret \
  PUBLIC_KEYS="{\"K2JCJMDEHXQW5F\":\"$pem\"}" CACHE_TTL_SECONDS=3600 \
  RUST_LOG=${RUST_LOG:-warn} HARNESS_ORIGIN_SECRET=$secret

harness=(target/release/examples/lambda_harness --bin target/release/manifest-rewriter
  --data "$work/data" --port "$PORT" --warm "$path")

# Cold starts: a fresh process each time, first request queued before it starts.
for _ in $(seq "$COLD_RUNS"); do
  "${harness[@]}" --cold-only 2>>"$work/harness.err" | head -1 || { cat "$work/harness.err" >&2; exit 1; }
done >"$work/cold.json"
if grep -v '"first_status":200' "$work/cold.json" >&2; then
  echo "load-rewriter: a cold start did not answer 200 (logs: LOGS=FILE)" >&2
  exit 1
fi
sed -E 's/.*"cold_start_ms":([0-9.]+).*/\1/' "$work/cold.json" | sort -n >"$work/cold.txt"
cold_median=$(awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}' "$work/cold.txt")
cold_max=$(tail -1 "$work/cold.txt" | awk '{printf "%.1f", $1}')

"${harness[@]}" >"$work/harness.out" 2>>"$work/harness.err" &
harness_pid=$!
for _ in $(seq 100); do
  [ -s "$work/harness.out" ] && break
  sleep 0.1
done
if [ ! -s "$work/harness.out" ]; then
  cat "$work/harness.err" >&2
  echo "load-rewriter: the harness did not start" >&2
  exit 1
fi

accept_header=()
[ "$ENCODING" != identity ] && accept_header=(-H "Accept-Encoding: $ENCODING")
cat >"$work/count.lua" <<LUA
local n = 0
local limit = $REQUESTS
response = function(status, headers, body)
  n = n + 1
  if status ~= 200 then io.stderr:write("status " .. status .. "\n") end
  if n == limit then wrk.thread:stop() end
end
done = function(summary, latency, requests)
  io.write(string.format("requests %d  errors %d  non-2xx %d\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
  io.write(string.format("p50 %.3f ms  p99 %.3f ms  max %.3f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
bytes=$(curl -s "${accept_header[@]}" -H "X-Origin-Verify: $secret" -o /dev/null \
  -w '%{size_download}' "http://127.0.0.1:$PORT$path")
wrk -t1 -c1 -d3600s --timeout 5s -s "$work/count.lua" "${accept_header[@]}" \
  -H "X-Origin-Verify: $secret" "http://127.0.0.1:$PORT$path" >"$work/wrk.raw" &
wrk_pid=$!
# The script stops wrk's thread at REQUESTS, but wrk's main loop sleeps for
# all of -d: once the harness has seen them all, wake it with SIGINT (as
# Ctrl-C would), which prints the summary.
while kill -0 "$wrk_pid" 2>/dev/null; do
  sleep 0.5
  seen=$(curl -s "http://127.0.0.1:$PORT/__harness/stats" | sed -E 's/.*"invocations":([0-9]+).*/\1/')
  if [ "${seen:-0}" -gt "$REQUESTS" ]; then
    kill -INT "$wrk_pid" 2>/dev/null || true
  fi
done
wait "$wrk_pid" || true
tail -2 "$work/wrk.raw" >"$work/wrk.out"
stats=$(curl -s "http://127.0.0.1:$PORT/__harness/stats")

machine
echo "playlist: 1,800 segments, RSA-2048 folder policy; response $bytes bytes ($ENCODING)"
echo "cold start (process start -> first response, $COLD_RUNS runs): median $cold_median ms, max $cold_max ms"
cat "$work/wrk.out"
echo "function (billed duration, RSS): $stats"
