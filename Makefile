# peerwatch: the two commands of the quick start are `make demo` and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
CARGO ?= cargo

.PHONY: test demo venv lint build release bench sim clean-venv

## venv: project-local Python tools (moto server, boto3, pytest), pinned in requirements-test.txt
venv: $(VENV)/.installed
$(VENV)/.installed: requirements-test.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
	touch $@

## build: the three binaries (debug)
build:
	$(CARGO) build --bins

## test: the whole suite, emulators included (what .ci/run calls)
test: venv build
	$(CARGO) test --all-targets
	ROUTE_SERVER_SIM_BIN=target/debug/route-server-sim $(PY) -m pytest -q tests/python

## demo: the poller's job end to end on local emulators (moto + route-server-sim), no AWS account
demo: venv
	$(CARGO) build --bins --examples
	PEERWATCH_PYTHON=$(abspath $(PY)) target/debug/examples/demo

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## release: optimised binaries
release:
	$(CARGO) build --release --bins

## sim: run the route-server simulator in the foreground on 127.0.0.1:4599
sim: build
	target/debug/route-server-sim --listen 127.0.0.1:4599

## lambda-watch: the poller under cargo-lambda's Lambda emulator on 127.0.0.1:$(LAMBDA_PORT), rebuilt
##   on change; the function gets this shell's environment (PEER_STATE_TABLE, AWS_ENDPOINT_URL_*, ...)
CARGO_LAMBDA := $(VENV)/bin/cargo-lambda
LAMBDA_PORT ?= 9000
EVENT ?= events/scheduled.json
.PHONY: lambda-watch lambda-invoke
lambda-watch: venv
	$(CARGO_LAMBDA) lambda watch -A 127.0.0.1 -P $(LAMBDA_PORT)

## lambda-invoke: send $(EVENT) (default events/scheduled.json) to the poller under `make lambda-watch`
lambda-invoke: venv
	$(CARGO_LAMBDA) lambda invoke poller --data-file $(EVENT) --invoke-address 127.0.0.1 --invoke-port $(LAMBDA_PORT)

## bench: the simulator fleet benchmark (figures printed, nothing asserted)
bench: build
	$(CARGO) run --release --example sim_fleet
