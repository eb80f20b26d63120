# Rampart — thin targets; the logic lives in scripts/.
# `make demo` and `make test` are the two commands of the README.

SHELL := /bin/bash
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export CONTAINERS_CONF ?= $(ROOT)/lab/containers.conf
S ?= default

.PHONY: help deps lab-image lab-up lab-down demo test lint sanity ee unit fuzz collection-test molecule scenario bench docs clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

deps: ## Install apt packages and the .venv (idempotent; needs root)
	@scripts/bootstrap.sh

lab-image: deps ## Build the debootstrap lab image (cached)
	@scripts/lab-image.sh

lab-up: lab-image ## Start the lab hosts of inventories/lab
	@scripts/lab.sh up

lab-down: ## Remove the lab hosts
	@scripts/lab.sh down

demo: lab-up ## Audit the stock lab, run playbooks/site.yml, audit again: before/after table and fleet page
	@scripts/demo.sh

test: deps ## Lint, unit tests, collection build/install test, every molecule scenario
	@scripts/test.sh

lint: deps ## ruff, yamllint, ansible-lint (production profile), README freshness
	@scripts/lint.sh

sanity: deps ## ansible-test sanity on the built collection (also part of lint)
	@scripts/sanity.sh

ee: lab-image ## Build the execution environment, run the audit in it with ansible-navigator vs a plain run
	@scripts/ee.sh

unit: deps ## pytest tests/unit
	@scripts/unit.sh

fuzz: deps ## Role/audit agreement properties with a large budget and a fresh seed (RAMPART_PROPERTY_EXAMPLES=5000)
	@RAMPART_FUZZ=1 scripts/unit.sh -k role_and_audit

collection-test: deps ## Build the collection tarball, install it, run an FQCN playbook from it
	@scripts/collection-test.sh

molecule: lab-image ## Every molecule scenario
	@scripts/molecule.sh

scenario: lab-image ## One molecule scenario: make scenario S=<name>
	@scripts/molecule.sh $(S)

bench: lab-image ## Benchmarks (ratios against a reference in the same run)
	@for b in bench/*.sh; do echo "== $$b"; bash "$$b" || exit 1; done

docs: deps ## Regenerate role READMEs and the checks reference
	@scripts/docs.sh

clean: lab-down ## Remove build outputs (keeps the venv and the lab image)
	@rm -rf .cache/build reports
