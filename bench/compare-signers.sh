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

. bench/lib.sh
ensure_node_signer
cargo build --quiet --release -p hlsgate-core --example sign_rate
RUST=target/release/examples/sign_rate

printf '%-34s %12s %12s %8s\n' "workload (canned URL, RSA-2048)" "hlsgate/s" "node/s" "ratio"
for hash in SHA1 SHA256; do
  r=$(best "$RUST" "$KEYS/test-rsa2048-pkcs1.pem" "$hash" "$N")
  n=$(best node bench/node-sign.mjs "$KEYS/test-rsa2048-pkcs1.pem" "$hash" "$N")
  printf '%-34s %12s %12s %7.2fx\n' "RSA-2048 $hash" "$r" "$n" "$(ratio "$r" "$n")"
  [ "$hash" = SHA1 ] && rsa_sha1=$r
done
ec=$(best "$RUST" "$KEYS/test-ecdsa-p256-sec1.pem" SHA1 "$((N * 10))")
printf '%-34s %12s %12s %7.2fx of RSA\n' "ECDSA P-256 SHA1 (hlsgate only)" "$ec" "-" "$(ratio "$ec" "$rsa_sha1")"
machine
