# Two commands for a fresh machine: `make demo` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The Lambda runtime is python3.12: the venv and the package are built with it.
PYTHON312 ?= $(shell for p in python3.12 $(wildcard $(HOME)/.pyenv/versions/3.12*/bin/python3.12); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && { echo "$$p"; break; }; done)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# The cfn commands run the first pip on PATH: make it the venv's.
export PATH := $(BIN):$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)
STAMP := $(VENV)/.installed
GENERATED := src/guardrails_ecs_nonrootuser/models.py src/guardrails_ecs_nonrootuser/target_models \
	docs/README.md docs/exemption.md hook-role.yaml guardrails-ecs-nonrootuser-configuration.json
PACKAGE := guardrails-ecs-nonrootuser.zip
# The package names the commit it is built from (scripts/repack.py): a new commit makes it stale.
COMMIT_STAMP := .cache/commit-$(shell git rev-parse HEAD 2>/dev/null || echo none)
# Only the pinned wheels of requirements.txt go into the package (see there).
PIP_LEAN := PIP_NO_DEPS=1 PIP_ONLY_BINARY=:all: PIP_PLATFORM="any manylinux2014_x86_64" \
	PIP_PYTHON_VERSION=3.12
# Stands in for the Lambda python3.12 runtime in tests: the standard library plus boto3.
RUNTIME := .lambda-runtime
# The official SARIF 2.1.0 JSON schema (rtm.5), as shipped in Microsoft's @microsoft/jest-sarif.
SARIF_SCHEMA := .cache/sarif-schema-2.1.0.json
SARIF_NPM := @microsoft/jest-sarif@1.0.0-beta.0
SARIF_SHA256 := 2d99159ae54a3eea97f81781cff48780548657c35949f4b7f25e99a2ba4de4f8

.PHONY: help install generate check-generated validate lint unit package package-report contract \
	demo test bench bench-images bench-audit registry-tools bench-startup bench-hook realworld register configure smoke org-deploy org-status org-off audit-role audit-demo \
	release clean

help:
	@echo "Two commands for a fresh machine (each sets itself up):"
	@echo "  make demo            show the hook deciding on sample task definitions, then ecs-nonroot on examples/"
	@echo "  make test            run every check, as CI does (.ci/run): lint validate check-generated unit contract"
	@echo "Their steps:"
	@echo "  make install         create .venv/ with python3.12 and the pinned toolchain"
	@echo "  make generate        regenerate the models and docs/README.md from schema.json (cfn generate)"
	@echo "  make check-generated regenerate, and fail if anything generated differs from what is committed"
	@echo "  make validate        validate schema.json (cfn validate)"
	@echo "  make lint            ruff and mypy (strict)"
	@echo "  make unit            the tests (pytest), after building what they check"
	@echo "  make registry-tools  install the registry and image tools the tests of ImageVerification use (apt)"
	@echo "  make package         build the reproducible hook package, $(PACKAGE)"
	@echo "  make package-report  show what the hook package holds"
	@echo "  make contract        the cfn test contract suite against the packaged hook, and its negative control"
	@echo "Measurements:"
	@echo "  make bench           time ecs-nonroot against its peers; records docs/benchmarks.md"
	@echo "  make bench-startup   start-up on one template, beside cfn-guard's, and its parts; records docs/benchmarks.md"
	@echo "  make bench-hook      time the packaged hook per invocation and at a cold start; records docs/benchmarks.md"
	@echo "  make bench-images    what reading images (ImageVerification) adds per invocation; records docs/benchmarks.md"
	@echo "  make bench-audit     the audit at organization scale, both sources: time and memory; records docs/benchmarks.md"
	@echo "  make realworld       compare ecs-nonroot with an independent reading: make realworld CORPUS=\"DIR ...\""
	@echo "Rolling out (docs/register.md, docs/organization.md; ACCOUNT= and REGION= required, DRY_RUN=1 only prints):"
	@echo "  make register        register the hook in one account and Region (cfn submit)"
	@echo "  make configure       enable it there with deploy/config/MODE.json (MODE=audit or enforce)"
	@echo "  make smoke           check there that every layer decides as configured, with throwaway stacks"
	@echo "  make org-deploy      upload the package and deploy the StackSet to OUS in REGIONS (BUCKET=, MODE=)"
	@echo "  make org-status      show the StackSet, its latest operations and its instances"
	@echo "  make org-off         disable the hook in every account of the StackSet at once"
	@echo "  make audit-role      deploy the audit's role to every account of OUS, once each (AUDIT_ROLE=,"
	@echo "                       AUDITOR=, SECURITY_HUB=true to let the audit write findings)"
	@echo "  make audit-demo      ecs-nonroot audit across two accounts of a local AWS stand-in"
	@echo "Other:"
	@echo "  make release         build the command's sdist and wheel reproducibly, checked by twine"
	@echo "  make clean           remove what the targets built"
	@echo "  make help            this list"

install: $(STAMP)

$(STAMP): requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON312)" || { echo "python3.12 not found on PATH" >&2; exit 1; }
	$(PYTHON312) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

$(RUNTIME)/.installed: requirements-lambda-runtime.txt $(STAMP)
	$(PYTHON312) -m venv --clear --without-pip $(RUNTIME)
	$(BIN)/pip --python $(RUNTIME)/bin/python install --quiet --disable-pip-version-check \
		--no-deps -r requirements-lambda-runtime.txt
	touch $@

$(SARIF_SCHEMA):
	mkdir -p .cache/npm
	cd .cache/npm && npm pack --silent $(SARIF_NPM) > /dev/null
	tar -xzf .cache/npm/microsoft-jest-sarif-1.0.0-beta.0.tgz -C .cache/npm \
		package/lib/schemas/sarif-2.1.0-rtm.5.json
	echo "$(SARIF_SHA256)  .cache/npm/package/lib/schemas/sarif-2.1.0-rtm.5.json" | sha256sum -c --quiet
	cp .cache/npm/package/lib/schemas/sarif-2.1.0-rtm.5.json $@

target-schemas/aws-ecs-taskdefinition.json: $(STAMP)
	$(BIN)/python scripts/target_schema.py target-schemas

# cfn generate empties docs/ before it writes docs/README.md and docs/exemption.md: keep the rest
# of docs/ across it.
generate: target-schemas/aws-ecs-taskdefinition.json
	@keep=$$(mktemp -d) && find docs -type f ! -path docs/README.md ! -path docs/exemption.md \
		-exec cp -p --parents {} "$$keep" \; ; \
	$(BIN)/cfn generate --local-only; status=$$?; \
	cp -pr "$$keep/docs/." docs/ 2>/dev/null; rm -rf "$$keep"; exit $$status

# Regenerating from schema.json and the pinned toolchain must leave the tree as committed.
check-generated: generate
	@git diff --exit-code -- $(GENERATED) || { echo "generated files are stale: run make generate" >&2; exit 1; }
	@test -z "$$(git status --porcelain -- $(GENERATED))" || { git status --porcelain -- $(GENERATED); exit 1; }
	@test -z "$$(git ls-files --deleted)" || { git ls-files --deleted; echo "tracked files were removed" >&2; exit 1; }

validate: $(STAMP)
	$(BIN)/cfn validate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The zip `cfn submit` uploads, built offline with the venv's python3.12 and pip. Offline, cfn
# first logs that it cannot load target info from AWS, then uses target-schemas/: expected.
# scripts/repack.py then makes it reproducible, adds bytecode and names the commit it is of.
package: $(PACKAGE)

$(PACKAGE): target-schemas/aws-ecs-taskdefinition.json requirements.txt schema.json .rpdk-config \
		scripts/repack.py $(COMMIT_STAMP) $(shell find src inputs -type f -not -path '*/__pycache__/*')
	@mkdir -p .cache
	@echo "cfn submit --dry-run --no-docker (its log: .cache/cfn-submit.log)"
	@$(PIP_LEAN) $(BIN)/cfn submit --dry-run --no-docker > .cache/cfn-submit.log 2>&1 \
		|| { cat .cache/cfn-submit.log; exit 1; }
	$(BIN)/python scripts/repack.py $(PACKAGE)

$(COMMIT_STAMP):
	mkdir -p .cache && rm -f .cache/commit-* && touch $@

package-report: $(PACKAGE)
	$(BIN)/python scripts/package_report.py $(PACKAGE)

# The IAM policy linter, in a venv of its own (requirements-parliament.txt says why).
PARLIAMENT := .cache/parliament-venv/bin/parliament

$(PARLIAMENT): requirements-parliament.txt
	$(PYTHON312) -m venv --clear .cache/parliament-venv
	.cache/parliament-venv/bin/pip install --quiet --disable-pip-version-check --no-deps \
		-r requirements-parliament.txt

# The release tools, in a venv of their own (requirements-release.txt says why).
RELEASE_VENV := .cache/release-venv
DIST ?= dist

$(RELEASE_VENV)/.installed: requirements-release.txt
	$(PYTHON312) -m venv --clear $(RELEASE_VENV)
	$(RELEASE_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps \
		-r requirements-release.txt
	touch $@

# The sdist and wheel of the command, reproducible (dated at the commit), checked by twine.
release: $(RELEASE_VENV)/.installed
	rm -rf "$(DIST)"
	export SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct) && \
		$(RELEASE_VENV)/bin/python -m build --no-isolation --outdir "$(DIST)" . > /dev/null && \
		$(RELEASE_VENV)/bin/python scripts/reproducible_sdist.py "$(DIST)"/*.tar.gz
	$(RELEASE_VENV)/bin/twine check --strict "$(DIST)"/*

# Unit tests include tests/test_package.py, which runs the built package on the runtime stand-in,
# and tests/test_install.py, which installs the command on Python 3.10 and 3.13 and releases it.
unit: $(PACKAGE) $(RUNTIME)/.installed $(SARIF_SCHEMA) $(PARLIAMENT) $(RELEASE_VENV)/.installed \
		registry-tools
	$(BIN)/pytest

# Debian's OCI registry and image tools: the tests of rule r (ImageVerification) and the demo run
# a real registry on 127.0.0.1 and build images with them. Installed with apt when missing; where
# there is no apt, those tests are skipped and say so.
REGISTRY_TOOLS := docker-registry skopeo umoci
registry-tools:
	@missing=$$(for tool in $(REGISTRY_TOOLS); do command -v $$tool >/dev/null || echo $$tool; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null; then \
		echo "no apt-get: the tests that need $$missing are skipped" >&2; exit 0; fi; \
	sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	echo "installing $$missing (apt-get)"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
		--no-install-recommends $$missing >/dev/null

# The unmodified `cfn test` suite against the packaged hook, served by a local Lambda endpoint,
# then the negative control: the same suite must fail against a hook that lets everything through.
contract: $(PACKAGE) $(RUNTIME)/.installed
	$(BIN)/python tests/run_contract.py
	$(BIN)/python tests/run_contract.py --permissive

# Benchmark peers: cfn-guard 3.1.1 as shipped prebuilt in an npm package, checkov in its own venv.
GUARD_NPM := @cdklabs/cdk-validator-cfnguard@0.0.62
GUARD_SHA256 := 660c14562d4c79d524d0623d80d494e41797acae9da23ecb10915d7f66ada80c
GUARD := .cache/cfn-guard/package/bin/ubuntu/$(shell uname -m)/cfn-guard
CHECKOV := .cache/checkov-venv/bin/checkov

$(GUARD):
	mkdir -p .cache/cfn-guard
	cd .cache/cfn-guard && npm pack --silent $(GUARD_NPM) > /dev/null
	echo "$(GUARD_SHA256)  .cache/cfn-guard/cdklabs-cdk-validator-cfnguard-0.0.62.tgz" | sha256sum -c --quiet
	tar -xzf .cache/cfn-guard/cdklabs-cdk-validator-cfnguard-0.0.62.tgz -C .cache/cfn-guard package/bin
	chmod +x $@

$(CHECKOV): bench/requirements-checkov.txt
	$(PYTHON312) -m venv --clear .cache/checkov-venv
	.cache/checkov-venv/bin/pip install --quiet --disable-pip-version-check -r bench/requirements-checkov.txt

# Times ecs-nonroot against its peers on a generated corpus and records docs/benchmarks.md.
# Byte-compiles the package first, as installing it with pip does, so start-up is measured as
# users see it (this project's editable install would otherwise compile on every run here).
bench: $(STAMP) $(GUARD) $(CHECKOV)
	$(BIN)/python -m compileall -q src
	$(BIN)/python bench/corpus.py .cache/bench
	$(BIN)/python bench/run.py .cache/bench --guard $(GUARD) --checkov $(CHECKOV)

# Start-up on one small template, beside cfn-guard's, and what it is made of; records
# docs/benchmarks.md. BEFORE=DIR (another checkout's src) adds a row for comparison, not recorded.
bench-startup: $(STAMP) $(GUARD)
	$(BIN)/python -m compileall -q src $(BEFORE)
	$(BIN)/python bench/startup.py --guard $(GUARD) $(if $(BEFORE),--before $(BEFORE))

# The yardstick on public templates: CORPUS is a list of directories (docs/realworld.md says
# which repositories at which commits); records docs/realworld.md.
realworld: $(STAMP)
	@test -n "$(CORPUS)" || { echo 'usage: make realworld CORPUS="DIR ..."' >&2; exit 2; }
	$(BIN)/python scripts/realworld.py $(CORPUS) --record docs/realworld.md

# What the hook adds to the library per invocation and at cold start, on the packaged code in the
# Lambda runtime stand-in; records docs/benchmarks.md.
bench-hook: $(PACKAGE) $(RUNTIME)/.installed
	$(RUNTIME)/bin/python -I bench/hook_latency.py

# What reading images (ImageVerification) adds per invocation, cold and warm; records
# docs/benchmarks.md.
bench-images: $(STAMP) registry-tools
	$(BIN)/python bench/image_latency.py

# ecs-nonroot audit at organization scale, both sources (200 accounts, 20,000 task definitions);
# records docs/benchmarks.md.
bench-audit: $(STAMP)
	$(BIN)/python bench/audit_scale.py --record

# Rolling out (README: "Rolling out to an organization"). Each target prints what it is about to
# do and refuses to run without an explicit ACCOUNT and REGION; DRY_RUN=1 only prints.
ROLLOUT = ACCOUNT="$(ACCOUNT)" REGION="$(REGION)" MODE="$(MODE)" BUCKET="$(BUCKET)" OUS="$(OUS)" \
	REGIONS="$(REGIONS)" PARAMETERS="$(PARAMETERS)" PARAMETERS_FILE="$(PARAMETERS_FILE)" \
	AUDIT_ROLE="$(AUDIT_ROLE)" AUDITOR="$(AUDITOR)" SECURITY_HUB="$(SECURITY_HUB)" \
	DRY_RUN="$(DRY_RUN)" PACKAGE="$(PACKAGE)" deploy/rollout.sh

register: target-schemas/aws-ecs-taskdefinition.json
	$(ROLLOUT) register

configure: $(STAMP)
	$(ROLLOUT) configure

smoke:
	ACCOUNT="$(ACCOUNT)" REGION="$(REGION)" deploy/smoke.sh

org-deploy: $(PACKAGE)
	$(ROLLOUT) org-deploy

org-status: $(STAMP)
	$(ROLLOUT) org-status

org-off: $(STAMP)
	$(ROLLOUT) org-off

audit-role:
	$(ROLLOUT) audit-role

demo: $(STAMP) registry-tools
	$(BIN)/python scripts/demo.py

# ecs-nonroot audit across two accounts of moto's server on loopback (README: the runbook).
audit-demo: $(STAMP)
	$(BIN)/python scripts/audit_demo.py

test: lint validate check-generated unit contract

clean:
	rm -rf build target-schemas rpdk.log $(PACKAGE) $(RUNTIME) .cache .pytest_cache .mypy_cache \
		.ruff_cache .hypothesis dist
