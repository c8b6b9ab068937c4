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
