# One entry point for everything: `make test` and `make demo` set themselves up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# Where `make cluster` keeps its kubeconfig and process record.
LOCAL ?= .local

.PHONY: help venv binaries node-binaries image image-host lint format test unit integration e2e crds cluster cluster-down demo bench chaos mutation clean

help:
	@echo "make demo         - local control plane + two simulated arrays + operator, live table"
	@echo "make test         - lint, type-check, unit, integration and e2e tests (sets everything up)"
	@echo "make bench        - benchmarks; one JSON object of figures per scenario"
	@echo "make chaos        - the randomized adversary for 30 min (CHAOS_DURATION s, CHAOS_SEED); figures as JSON"
	@echo "make image        - build the operator image with podman (no Docker needed; root on Debian)"
	@echo "make cluster      - start a local etcd + kube-apiserver, write .local/kubeconfig"
	@echo "make cluster-down - stop it"
	@echo "make crds         - regenerate crds/ (and the chart's copy) from the pydantic models"
	@echo "make mutation     - mutation testing (mutmut) over reconcile/ and the shell's decision points"

# The operator and, beside it, the development distributions of this repository.
DISTS := -e tools/ibox-sim -e tools/controlplane -e tools/demo -e tools/image -e '.[dev]'
PY_DIRS := operator tools/ibox-sim tools/controlplane tools/demo tools/image tools/mutation tests bench

$(STAMP): pyproject.toml tools/ibox-sim/pyproject.toml tools/controlplane/pyproject.toml tools/demo/pyproject.toml \
		tools/image/pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is required"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(DISTS)
	touch $(STAMP)

venv: $(STAMP)

binaries: $(STAMP)
	$(BIN)/python -m controlplane build

# kubelet, kube-controller-manager and kube-scheduler for the tests that run the chart's pods on
# a real node (tests/e2e/node): ~15 min cold on this machine, then cached like the others.
node-binaries: $(STAMP)
	$(BIN)/python -m controlplane build-node

# The image, built as the tests build it: Debian's podman on a debootstrapped base (tools/image).
image: $(STAMP)
	$(BIN)/python -m replica_image build

# What the image tests need from root on a fresh machine (packages, containers.conf, the base
# image); a no-op once cached. The tests build the image itself (podman's layer cache).
image-host: $(STAMP)
	$(BIN)/python -m replica_image setup

lint: $(STAMP)
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/mypy --strict tools/mutation/run.py

format: $(STAMP)
	$(BIN)/ruff format $(PY_DIRS)
	$(BIN)/ruff check --fix $(PY_DIRS)

test: lint binaries node-binaries image-host
	$(BIN)/pytest $(PYTEST_ARGS)

unit: $(STAMP)
	$(BIN)/pytest -m unit $(PYTEST_ARGS)

integration: binaries
	$(BIN)/pytest -m integration $(PYTEST_ARGS)

e2e: binaries node-binaries
	$(BIN)/pytest -m e2e $(PYTEST_ARGS)

crds: $(STAMP)
	$(BIN)/replica-operator crds

cluster: binaries
	$(BIN)/python -m controlplane up --kubeconfig $(LOCAL)/kubeconfig --state $(LOCAL)/controlplane.json

cluster-down: $(STAMP)
	$(BIN)/python -m controlplane down --kubeconfig $(LOCAL)/kubeconfig --state $(LOCAL)/controlplane.json

demo: binaries
	$(BIN)/replica-operator-demo

# Mutation testing over reconcile/ and the shell's decision points (docs/mutation-testing.md);
# not part of `make test`. MUTATION_ARGS: e.g. --fresh, or mutant names/globs to re-run.
MUTATION_ARGS ?=
mutation: $(STAMP)
	$(BIN)/python tools/mutation/run.py $(MUTATION_ARGS)

bench: binaries
	$(BIN)/python -m bench

chaos: binaries
	$(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
