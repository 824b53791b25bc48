# peerwatch: the two commands of the quick start are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CARGO ?= cargo

.PHONY: test demo venv lint build release bench sim clean-venv infra-lint sam-build terminal-tools

## venv: project-local Python tools (moto server, boto3, pytest), pinned in requirements-test.txt
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

## The SAM CLI and checkov each pin a boto3 of their own, so each gets its own venv.
SAM_VENV ?= .venv-sam
CHECKOV_VENV ?= .venv-checkov
$(SAM_VENV)/.installed: requirements-sam.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@
export SAM_CLI_TELEMETRY := 0

## terminal-tools: tmux and libfaketime (Debian's faketime) for the tests that drive
##   `peerwatch watch` as a user would; installed only where they are missing and we are root
terminal-tools:
	@if ! command -v tmux >/dev/null || ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			{ apt-get update -qq && apt-get install -y -qq tmux faketime; } || \
				echo "installing tmux and faketime failed: the watch tests will say so"; \
		else echo "tmux or faketime is missing: the watch tests will say so"; fi; \
	fi

## build: every binary of the workspace (debug): poller, peerwatch, route-server-sim and the tools.
##   The workspace's default member is the Lambda alone (Cargo.toml says why), hence --workspace.
build:
	$(CARGO) build --workspace --bins

## test: the whole suite, emulators included (what .ci/run calls): every crate's unit tests,
##   the integration binary tests/it (it runs the binaries `build` made), then the boto3 checks
test: venv terminal-tools build
	$(CARGO) test --workspace
	ROUTE_SERVER_SIM_BIN=target/debug/route-server-sim $(PY) -m pytest -q tests/python

## demo: the poller's job end to end on local emulators (moto + route-server-sim), no AWS account
demo: venv build
	PEERWATCH_PYTHON=$(abspath $(PY)) target/debug/demo

## lint: formatting, clippy (warnings are errors) and the template's linters
lint: infra-lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## infra-lint: cfn-lint, `sam validate --lint` and checkov on infra/template.yaml (skips are
##   justified in the template; checkov must not phone home: --skip-download)
infra-lint: venv $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/cfn-lint infra/template.yaml
	cd infra && ../$(SAM_VENV)/bin/sam validate --lint --template template.yaml --region us-east-1
	$(CHECKOV_VENV)/bin/checkov --file infra/template.yaml --framework cloudformation \
		--skip-download --quiet --compact

## sam-build: `sam build` for x86_64 (the only Rust target this machine has), with cargo-lambda
##   from .venv; the template's default architecture, arm64, needs an aarch64 Rust target
sam-build: venv $(SAM_VENV)/.installed
	cd infra && PATH="$(abspath $(VENV))/bin:$$PATH" ../$(SAM_VENV)/bin/sam build \
		--parameter-overrides Architecture=x86_64
	@# It is the poller: started with no settings, it names the first missing one and exits 2.
	@bin=$$($(SAM_VENV)/bin/python scripts/sam_built_bootstrap.py infra/.aws-sam/build) || exit 1; \
	ls -l "$$bin"; out=$$(env -i "$$bin" 2>&1); rc=$$?; echo "$$out"; \
	test $$rc -eq 2 && echo "$$out" | grep -q PEER_STATE_TABLE

## release: optimised binaries
release:
	$(CARGO) build --release --workspace --bins

## sim: run the route-server simulator in the foreground on 127.0.0.1:4599
sim: build
	target/debug/route-server-sim --listen 127.0.0.1:4599

## lambda-watch: the poller under cargo-lambda's Lambda emulator on 127.0.0.1:$(LAMBDA_PORT), rebuilt
##   on change; the function gets this shell's environment (PEER_STATE_TABLE, AWS_ENDPOINT_URL_*, ...)
CARGO_LAMBDA := $(VENV)/bin/cargo-lambda
LAMBDA_PORT ?= 9000
EVENT ?= events/scheduled.json
.PHONY: lambda-watch lambda-invoke cold-start profile-matrix
lambda-watch: venv
	$(CARGO_LAMBDA) lambda watch -A 127.0.0.1 -P $(LAMBDA_PORT)

## lambda-invoke: send $(EVENT) (default events/scheduled.json) to the poller under `make lambda-watch`
lambda-invoke: venv
	$(CARGO_LAMBDA) lambda invoke poller --data-file $(EVENT) --invoke-address 127.0.0.1 --invoke-port $(LAMBDA_PORT)

## bench: the benchmark harness (docs/benchmarks.md): steady, floor and storm cycles for 100,
##   1,000 and 10,000 peers on moto + route-server-sim; figures printed, nothing asserted.
##   BENCH_ARGS="--quick" (100 and 1,000), "--sizes 100,1000", "--all-storms"; time to alert
##   through the peer logs and through the poll: "--time-to-alert" (alone), "--no-time-to-alert",
##   "--alert-samples N".
##   The simulator's own describe benchmark: cargo run --release -p peerwatch-tools --bin sim-fleet
BENCH_ARGS ?=
bench: venv
	$(CARGO) build --release --workspace --bins
	PEERWATCH_PYTHON=$(abspath $(PY)) target/release/bench $(BENCH_ARGS)

## cold-start: the deployable zip (cargo lambda build --release) and its binary's start-up time to
##   the first Lambda runtime API request, with its memory then (figures printed, not asserted).
##   The tools are built with the rest of the workspace (`build`): a build of one package alone
##   resolves features for it alone and would compile the SDK once more.
cold-start: venv
	PATH="$(abspath $(VENV))/bin:$$PATH" $(CARGO_LAMBDA) lambda build --release -p peerwatch-poller --bin poller --output-format zip
	ls -l target/lambda/poller/bootstrap.zip
	$(PY) -m zipfile -e target/lambda/poller/bootstrap.zip target/lambda/poller/
	chmod +x target/lambda/poller/bootstrap
	$(CARGO) build --workspace --bins
	target/debug/cold-start target/lambda/poller/bootstrap 20

## profile-matrix: release profiles compared by measurement (build time, bootstrap and zip size,
##   cold start, CPU and peak RSS of a 10,000-peer steady cycle); about 13 minutes per profile.
##   PROFILES="name=OPT:LTO:CODEGEN_UNITS:PANIC ..." (default: default, size and speed)
PROFILES ?=
profile-matrix: venv
	scripts/profile_matrix.sh $(PROFILES)

## chaos: the fault campaign (docs/reliability.md): per seed a random scenario, real
##   `peerwatch poll` runs through EC2/DynamoDB/SNS faults, overlaps and SIGKILL, then the
##   history checker. CHAOS_SEEDS=N seeds from 1 (default 20); CHAOS_SEED=N reproduces one.
.PHONY: chaos
chaos: venv
	$(CARGO) build --workspace --bins
	PEERWATCH_PYTHON=$(abspath $(PY)) $(CARGO) test -p peerwatch-testkit --test it chaos_campaign -- --ignored --nocapture
