# onprem.mlflow — the two commands users need are `make deploy` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Unit tests import the collection as ansible_collections.onprem.mlflow (linked below).
export PYTHONPATH := $(CURDIR)/.cache/collections
COLLECTION_LINK := .cache/collections/ansible_collections/onprem/mlflow
INVENTORY ?= inventories/local/hosts.yml
# MinIO is built from source once by the minio role's own build (playbooks/build_minio.yml) and
# cached; the role reuses the same cache (minio and minio.sha256 in MINIO_CACHE).
MINIO_VERSION := $(shell sed -n 's/^minio_version: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' roles/minio/defaults/main.yml)
MINIO_CACHE_DIR ?= $(HOME)/.cache/onprem-mlflow/minio
MINIO_CACHE := $(MINIO_CACHE_DIR)/$(MINIO_VERSION)
export MINIO_BIN := $(MINIO_CACHE)/minio
# The full MLflow server (the controller's .venv has mlflow-skinny, a client only) for the model card
# integration test (tests/integration/test_model_card.py): a venv of its own, made once per version.
MLFLOW_VERSION := $(shell sed -n 's/^mlflow_version: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' roles/mlflow/defaults/main.yml)
export ONPREM_MLFLOW_SERVER_VENV ?= $(HOME)/.cache/onprem-mlflow/mlflow-server/$(MLFLOW_VERSION)
# The Molecule scenarios of each `make test` lane (in this order); `make molecule` runs them all,
# or those SCENARIOS names.
LANE_1_SCENARIOS := mysql default
LANE_2_SCENARIOS := split
SCENARIOS ?= $(LANE_1_SCENARIOS) $(LANE_2_SCENARIOS)
# System packages `make test` needs on the controller (Debian). The python3-* ones let the module
# integration tests run onprem.mlflow.minio_user on Debian's own python3, as on the MinIO hosts.
# chromium and libnss3-tools (certutil): the Molecule verify's browser check of the web UI.
TEST_DEBS := docker.io debootstrap postgresql mariadb-server python3-venv git shellcheck \
  python3-boto3 python3-argon2 python3-cryptography chromium libnss3-tools

.PHONY: help
help:
	@echo "make deploy    converge inventories/local (all-in-one on this machine), then print URL and credentials"
	@echo "make backup    a backup of that stack now; make restore BACKUP=<name> restores one;"
	@echo "               make rotate ROTATE=users,tls,... new credentials (README: Day-2)"
	@echo "make model-card CARD=<file>  attach a model card to the MLflow run it names (README: Model cards)"
	@echo "make test      lint + sanity + unit + integration + Molecule ($(LANE_1_SCENARIOS) $(LANE_2_SCENARIOS)) + docker role + deploy smoke test"
	@echo "make lint | sanity | unit | integration | molecule | deploy-smoke | firewall-e2e | docker-role | images | minio | mlflow-server | build"
	@echo "make changelog CHANGELOG.md from changelogs/ (README: Changelog fragments)"
	@echo "make bench | bench-smoke | bench-venv    benchmarks (docs/performance.md)"

# `make deploy` needs Ansible only; the test tools come on top for `make test`. The packages go in
# with uv (pinned, installed into the venv by pip first): the `ansible` bundle is tens of thousands
# of files, which pip takes minutes to unpack and uv seconds. pip reads its index, proxy and CA
# settings from the environment and pip.conf; uv reads its own (UV_INDEX_URL, UV_FIND_LINKS, ...),
# plus pip's PIP_FIND_LINKS passed on below. Like pip, uv trusts the system's certificate store
# (--system-certs: a TLS-inspecting proxy's CA added with update-ca-certificates) and SSL_CERT_FILE.
UV_VERSION := 0.13.9
UV_PIP := $(BIN)/uv pip install --quiet --system-certs --python $(BIN)/python $(if $(PIP_FIND_LINKS),--find-links $(PIP_FIND_LINKS))
# (a venv made before uv was used gets it too)
$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)

$(BIN)/ansible-playbook: requirements.txt | $(BIN)/uv
	$(UV_PIP) -r requirements.txt
	@touch $@

$(BIN)/molecule: requirements-dev.txt requirements.txt $(BIN)/ansible-playbook | $(BIN)/uv
	$(UV_PIP) -r requirements-dev.txt
	@touch $@

.PHONY: venv venv-dev
venv: $(BIN)/ansible-playbook $(COLLECTION_LINK)
venv-dev: venv $(BIN)/molecule

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

.PHONY: deploy
deploy: venv
	ansible-playbook -i $(INVENTORY) site.yml

# Day-2 (README.md): a backup now; a restore of the backup named BACKUP (in the backup directory of
# the maintenance host).
.PHONY: backup restore rotate
backup: venv
	ansible-playbook -i $(INVENTORY) playbooks/backup.yml

rotate: venv
	@test -n "$(ROTATE)" || { echo "usage: make rotate ROTATE=db_password,s3_secret_key,minio_root_password,users,tls" >&2; exit 2; }
	ansible-playbook -i $(INVENTORY) playbooks/rotate.yml -e mlflow_rotate=$(ROTATE)

restore: venv
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=<name of a backup, e.g. 20261123T023000Z>" >&2; exit 2; }
	ansible-playbook -i $(INVENTORY) playbooks/restore.yml -e mlflow_restore_backup=$(BACKUP)

# A model card kept in git, attached to the MLflow run it names (README: Model cards). The client
# settings come from the environment: set -a; . ~/.onprem-mlflow/local/client.env; set +a
.PHONY: model-card
model-card: venv
	@test -n "$(CARD)" || { echo "usage: make model-card CARD=path/to/modelcard.yml (MLFLOW_TRACKING_* from the stack's client.env)" >&2; exit 2; }
	ansible-playbook playbooks/model_card.yml -e model_card_path=$(CARD)

# --- controller prerequisites for the tests -----------------------------------------------
.PHONY: debs
debs:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

.PHONY: dockerd
dockerd: debs
	@tests/scripts/dockerd.sh

.PHONY: minio
# Builds MinIO (a Go toolchain fetched when the local Go is missing or too old: README) unless the
# cached build is reusable (its minio.sha256 and version information checked): seconds then.
minio: venv
	@test -n "$(MINIO_VERSION)" || { echo "minio_version not found in roles/minio/defaults/main.yml"; exit 1; }
	ansible-playbook playbooks/build_minio.yml -e minio_controller_cache_dir=$(MINIO_CACHE_DIR)

.PHONY: mlflow-server
mlflow-server: $(ONPREM_MLFLOW_SERVER_VENV)/.installed
$(ONPREM_MLFLOW_SERVER_VENV)/.installed:
	@test -n "$(MLFLOW_VERSION)" || { echo "mlflow_version not found in roles/mlflow/defaults/main.yml"; exit 1; }
	rm -rf $(ONPREM_MLFLOW_SERVER_VENV)
	$(PYTHON) -m venv $(ONPREM_MLFLOW_SERVER_VENV)
	$(ONPREM_MLFLOW_SERVER_VENV)/bin/pip install --quiet mlflow==$(MLFLOW_VERSION)
	@touch $@

.PHONY: images
images: dockerd
	tests/images/build.sh bookworm
	tests/images/build.sh trixie

# --- tests, fast to slow -------------------------------------------------------------------
.PHONY: lint
lint: venv-dev
	yamllint -s .
	ruff check .
	ansible-lint
	antsibull-changelog lint
	@out=$$(mktemp --suffix=.md); trap 'rm -f "$$out"' EXIT; \
	antsibull-changelog generate --output "$$out" --output-format md; \
	diff -u CHANGELOG.md "$$out" || { echo "CHANGELOG.md is not what antsibull-changelog generate writes from changelogs/: run make changelog" >&2; exit 1; }

# CHANGELOG.md from changelogs/changelog.yaml (released versions). Unreleased changes are fragments in
# changelogs/fragments/ (README.md, "Changelog fragments"); `antsibull-changelog release` moves them in.
.PHONY: changelog
changelog: venv-dev
	antsibull-changelog generate

.PHONY: sanity
sanity: venv-dev
	tests/scripts/sanity.sh

.PHONY: unit
unit: venv-dev
	pytest -q -p no:cacheprovider tests/unit tests/preflight

.PHONY: integration
integration: venv-dev debs minio mlflow-server
	tests/integration/run.sh

.PHONY: molecule
molecule: venv-dev images minio
	@for s in $(SCENARIOS); do tests/molecule.sh $$s; done

.PHONY: deploy-smoke
# `make deploy` itself, run inside a fresh Debian 12 test host (no Go, no MinIO build: it fetches Go
# and builds MinIO), then again the Galaxy way, then used with its client.env.
deploy-smoke: venv-dev images
	tests/deploy_smoke.sh

.PHONY: firewall-e2e
# The firewall role alone on two test hosts, with real packets (disable, reject, nftables.service
# flushes). Not part of `make test`: the Molecule split scenario checks the deployed firewall.
firewall-e2e: venv-dev images
	tests/firewall_e2e.sh

.PHONY: docker-role
# The docker role alone on a Debian 12 and a Debian 13 test host (Docker-in-Docker): check mode,
# idempotence, daemon.json, the dockerd environment, a real container. Lane 1 of `make test` runs it.
docker-role: venv-dev images
	tests/docker_role.sh

.PHONY: test test-lane-1 test-lane-2
# Two lanes side by side on the machine's two cores (tests/scripts/lanes.sh: each lane's stages in
# order, its lines prefixed [1] or [2], whole logs in tests/output/lanes/): Molecule mysql, then
# default, then lint, sanity and the docker role | the deploy smoke test's deploy phase from nothing (its Go fetch and
# MinIO build are most of it; its test host stays up), Molecule split, then unit and the module
# integration tests. One stage keeps about one core busy, so two lanes take a little more than half the time of
# one. None of the stages asserts a duration but the fault checks (recovery bounds of 30 s and 120 s):
# never two at once (a lock), and while they run the other lane yields the CPU
# (tests/scripts/yield_others.sh). Then the deploy smoke test's restore of the backup the default
# scenario exported (required here).
test: export REQUIRE_RESTORE = 1
test: debs venv-dev images minio mlflow-server
	tests/scripts/lanes.sh 1='$(MAKE) --no-print-directory test-lane-1' 2='$(MAKE) --no-print-directory test-lane-2'
	tests/deploy_smoke.sh restore
	@echo "stages: lint sanity unit integration deploy-smoke molecule ($(LANE_1_SCENARIOS) $(LANE_2_SCENARIOS)) docker-role passed, 0 failed"

test-lane-1:
	@for s in $(LANE_1_SCENARIOS); do tests/molecule.sh $$s; done
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory sanity
	$(MAKE) --no-print-directory docker-role

# split before the checks: its fault checks then come halfway between those of mysql and default.
# lint and sanity ride in lane 1: split, with seven hosts, makes lane 2 the longer one.
test-lane-2:
	tests/deploy_smoke.sh deploy
	@for s in $(LANE_2_SCENARIOS); do tests/molecule.sh $$s; done
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory integration

# Benchmarks print and write timings and the ratios measured in one run, never pass or fail on them
# (docs/performance.md; results in tests/output/bench/).
.PHONY: bench bench-smoke bench-venv
# Two fresh test hosts of its own (network onprem-mlflow-bench): converge vs floor, tracking API,
# artifacts up to 5 GiB, footprint; destroyed afterwards.
bench: venv-dev images minio
	bench/run.sh

# Tiny sizes against an already converged all-in-one host, by default the Molecule `default`
# scenario's (tests/molecule.sh runs it there after the first verify, so `make test` does).
BENCH_HOST ?= onprem-mlflow-default
BENCH_CREDENTIALS ?= tests/output/molecule/default/credentials
bench-smoke: venv-dev
	bench/smoke.sh $(BENCH_HOST) $(BENCH_CREDENTIALS)

# The MLflow venv built with pip vs uv on this machine (the mlflow role's mlflow_installer).
bench-venv: venv-dev
	python3 bench/venv_install.py --rounds $${ROUNDS:-1}

.PHONY: build
build: venv
	ansible-galaxy collection build --force --output-path tests/output/
