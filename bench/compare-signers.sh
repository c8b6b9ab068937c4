#!/usr/bin/env bash
# Signs the same canned-policy URLs with hlsgate (AWS-LC) and with Node's
# @aws-sdk/cloudfront-signer (OpenSSL), prints both rates and the ratio, and
# hlsgate's ECDSA P-256 rate against its RSA rate.
#
#   bench/compare-signers.sh [N]        (default N=5000 signatures per run)
#
# Node's package goes into bench/node_modules (git-ignored). Each side runs
# three times; the best run counts (least disturbed by the rest of the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-5000}"
KEYS=fixtures/conformance/keys
SIGNER_VERSION=3.1166.0

if [ ! -d bench/node_modules/@aws-sdk/cloudfront-signer ]; then
  echo "installing @aws-sdk/cloudfront-signer@$SIGNER_VERSION into bench/node_modules" >&2
  npm install --prefix bench --no-save --no-audit --no-fund --loglevel=error \
    "@aws-sdk/cloudfront-signer@$SIGNER_VERSION" >&2
fi
cargo build --quiet --release -p hlsgate-core --example sign_rate
RUST=target/release/examples/sign_rate

best() { # best of three runs of "$@"; prints the integer rate
  local best=0 r
  for _ in 1 2 3; do
    r=$("$@" | awk '{print $1}')
    [ "$r" -gt "$best" ] && best=$r
  done
  echo "$best"
}

printf '%-34s %12s %12s %8s\n' "workload (canned URL, RSA-2048)" "hlsgate/s" "node/s" "ratio"
for hash in SHA1 SHA256; do
  r=$(best "$RUST" "$KEYS/test-rsa2048-pkcs1.pem" "$hash" "$N")
  n=$(best node bench/node-sign.mjs "$KEYS/test-rsa2048-pkcs1.pem" "$hash" "$N")
  printf '%-34s %12s %12s %7.2fx\n' "RSA-2048 $hash" "$r" "$n" "$(awk -v a="$r" -v b="$n" 'BEGIN{print a/b}')"
  [ "$hash" = SHA1 ] && rsa_sha1=$r
done
ec=$(best "$RUST" "$KEYS/test-ecdsa-p256-sec1.pem" SHA1 "$((N * 10))")
printf '%-34s %12s %12s %7.2fx of RSA\n' "ECDSA P-256 SHA1 (hlsgate only)" "$ec" "-" "$(awk -v a="$ec" -v b="$rsa_sha1" 'BEGIN{print a/b}')"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
