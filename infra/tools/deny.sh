#!/usr/bin/env bash
# cargo deny with no network: licences, bans and sources always; advisories
# against the RustSec snapshot in ../shared/advisory-db (HLSGATE_ADVISORY_DB),
# skipped with a message when it is missing.
#
# cargo-deny opens its database as a git checkout named after the default URL
# (advisory-db-3157b0e258782691) under db-path (deny.toml). The snapshot is a
# plain export, so it is copied there and committed once, dated as the
# snapshot is; a new SNAPSHOT.txt makes a new copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools="${HLSGATE_TOOLS:-$PWD/.tools}"
export HLSGATE_TOOLS="$tools"
deny="$tools/cargo/bin/cargo-deny"
snapshot="${HLSGATE_ADVISORY_DB:-../shared/advisory-db}"

# --offline stops cargo metadata from downloading crates, so fetch them first.
cargo fetch --locked --quiet

checks=(licenses bans sources)
if [ -f "$snapshot/SNAPSHOT.txt" ]; then
  db="$tools/advisory-dbs/advisory-db-3157b0e258782691"
  if ! cmp -s "$snapshot/SNAPSHOT.txt" "$db/SNAPSHOT.txt"; then
    rm -rf "$db"
    mkdir -p "$db"
    cp -R "$snapshot/." "$db/"
    when=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' "$snapshot/SNAPSHOT.txt" | head -1 || true)
    (
      cd "$db"
      git init -q
      git add -A
      GIT_AUTHOR_DATE="${when:+${when}T00:00:00Z}" GIT_COMMITTER_DATE="${when:+${when}T00:00:00Z}" \
        git -c user.name=hlsgate -c user.email=hlsgate@localhost -c commit.gpgsign=false \
        commit -qm "RustSec snapshot $(head -c 200 SNAPSHOT.txt)"
    )
  fi
  checks+=(advisories)
else
  echo "cargo deny: no advisory snapshot at $snapshot (set HLSGATE_ADVISORY_DB); the advisories check is skipped, licences, bans and sources still run"
fi
"$deny" --offline check --show-stats "${checks[@]}"
