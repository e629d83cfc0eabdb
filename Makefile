# The README's commands. `make demo` and `make test` set everything up on a fresh
# Debian/Ubuntu machine with Python 3.11+: a .venv with the pip packages, and the
# system tools (bedtools; Chromium for the report test) via apt-get when run as root.
SHELL := /bin/bash
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
CORES ?= all

DEMO_TOOLS := bedtools
TEST_TOOLS := bedtools chromium

.PHONY: demo test bench lint format setup clean-demo

# The report is rewritten when a result, a caption or the config is newer than it (a caption
# edit reruns no job: captions are read only by --report).
demo: $(VENV)/.installed
	@$(MAKE) --no-print-directory tools TOOLS="$(DEMO_TOOLS)"
	snakemake --cores $(CORES) --profile profiles/local
	@if [ -f results/report.html ] && [ -z "$$(find results workflow/report config -newer results/report.html -type f ! -path 'results/.*' -print -quit)" ]; then \
		echo "results/report.html is up to date"; \
	else \
		snakemake --cores $(CORES) --report results/report.html; \
	fi

test: $(VENV)/.installed
	@$(MAKE) --no-print-directory tools TOOLS="$(TEST_TOOLS)"
	$(BIN)/python -m pytest

bench: $(VENV)/.installed
	@$(MAKE) --no-print-directory tools TOOLS="$(DEMO_TOOLS)"
	$(BIN)/python -m tests.bench

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .
	snakefmt --check Snakefile workflow/rules
	snakemake --lint --cores 1

format: $(VENV)/.installed
	ruff check --fix .
	ruff format .
	snakefmt Snakefile workflow/rules

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $@

# Installs missing system tools with apt-get when root; otherwise prints the command and stops.
.PHONY: tools
tools:
	@missing=""; \
	for tool in $(TOOLS); do command -v $$tool >/dev/null 2>&1 || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "seq2chrom needs:$$missing. Install them with: sudo apt-get install -y$$missing" >&2; exit 1; \
		fi; \
	fi

clean-demo:
	rm -rf results resources/demo .snakemake
