#!/usr/bin/env bash
# make deploy: sam deploy --guided with the ENV section of infra/samconfig.toml,
# the template built by `make build`. KEY1=/KEY2= PEM files fill the key slots
# (KEYn=none empties one); see infra/tools/overrides.py. SAMCONFIG=FILE reads
# another config (the tests do).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv="${HLSGATE_TOOLS:-$PWD/.tools}/venv/bin"
env="${ENV:-dev}"
config="${SAMCONFIG:-$PWD/infra/samconfig.toml}"
args=()
if [ -n "${KEY1:-}${KEY2:-}" ]; then
  overrides=()
  while IFS= read -r -d '' item; do overrides+=("$item"); done \
    < <("$venv/python" infra/tools/overrides.py "$config" "$env" "${KEY1:-}" "${KEY2:-}")
  args=(--parameter-overrides "${overrides[@]}")
fi
export SAM_CLI_TELEMETRY=0 PATH="$venv:$PATH"
exec sam deploy --guided --config-file "$config" --config-env "$env" \
  --template-file target/sam/template.yaml "${args[@]}"
