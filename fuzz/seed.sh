#!/usr/bin/env bash
# Seeds fuzz/corpus/rewrite from the golden and corpus playlists in fixtures/.
# Each seed is one options byte (see fuzz_targets/rewrite.rs) and a playlist.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/rewrite
n=0
while IFS= read -r -d '' f; do
  # Skip the big one: libFuzzer works best on small inputs.
  [ "$(stat -c %s "$f")" -gt 20000 ] && continue
  for opt in '\x47' '\x45' '\x40'; do
    { printf "$opt"; cat "$f"; } > "corpus/rewrite/seed-$n"
    n=$((n + 1))
  done
done < <(find ../fixtures/hls -name '*.m3u8' -print0 | sort -z)
echo "seeded $n inputs into fuzz/corpus/rewrite"
# The cpix target: one version byte (even: SPEKE v1, odd: v2) and a request.
mkdir -p corpus/cpix
n=0
while IFS= read -r -d '' f; do
  for v in '\x00' '\x01'; do
    { printf "$v"; cat "$f"; } > "corpus/cpix/seed-$n"
    n=$((n + 1))
  done
done < <(find ../fixtures/speke -name '*.xml' -not -path '*/golden/*' -print0 | sort -z)
echo "seeded $n inputs into fuzz/corpus/cpix"
