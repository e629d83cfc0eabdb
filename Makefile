# The README's commands. `make demo` needs only Python 3.11+ with venv (no root): it makes a
# .venv with the pip packages. `make test` also needs the system tools the tests compare with
# (bedtools; Chromium for the report test), installed via apt-get when run as root.
SHELL := /bin/bash
VENV := .venv
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
CORES ?= all
# The Python that makes the venv: `make demo PYTHON=/path/to/python3.11` where python3 is older.
PYTHON ?= python3

TEST_TOOLS := bedtools chromium gcc make pkg-config
# Libraries tests/reference/build_meme_tomtom.sh builds MEME's tomtom with (Tomtom's reference).
TEST_PACKAGES := libxml2-dev libxslt1-dev zlib1g-dev

.PHONY: demo test bench lint format setup clean-demo

# Without a GPU, jobs get at most half the cores, so that the two models train side by side:
# TensorFlow keeps only ~1.4 cores busy with a small model, and one training after the other
# (the local profile's gpu=1 runs GPU jobs one at a time) left the rest idle.
GPUS := $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU')
NPROC := $(shell nproc)
CPU_ONLY := --resources gpu=$(NPROC) --max-threads $(shell echo $$(( $(NPROC) > 3 ? $(NPROC) / 2 : 1 )))
DEMO_FLAGS := $(if $(filter 0,$(GPUS)),$(CPU_ONLY))

# The report is rewritten when a result, a caption or the config is newer than it (a caption
# edit reruns no job: captions are read only by --report).
demo: $(VENV)/.installed
	snakemake --cores $(CORES) --profile profiles/local $(DEMO_FLAGS) $(CONFIGFILES:%=--configfile %)
	@if [ -f results/report.html ] && [ -z "$$(find results workflow/report config -newer results/report.html -type f ! -path 'results/.*' -print -quit)" ]; then \
		echo "results/report.html is up to date"; \
	else \
		snakemake --cores $(CORES) --report results/report.html $(CONFIGFILES:%=--configfile %); \
	fi

# The demo plus the fine-tuning comparison (report section "Fine-tuning"): config files in
# CONFIGFILES are read over config/config.yaml, here the comparison's settings.
.PHONY: demo-finetune
demo-finetune:
	@$(MAKE) --no-print-directory demo CONFIGFILES=config/examples/finetune.yaml

test: $(VENV)/.installed
	@$(MAKE) --no-print-directory tools TOOLS="$(TEST_TOOLS)"
	@$(MAKE) --no-print-directory packages PACKAGES="$(TEST_PACKAGES)"
	$(BIN)/python -m pytest

# The quick check while working: unit tests, style, parse-time checks and the tiny data build,
# without the tests that train models or need Slurm or a browser.
.PHONY: test-fast
test-fast: $(VENV)/.installed
	@$(MAKE) --no-print-directory tools TOOLS=bedtools
	$(BIN)/python -m pytest -m "not slow and not slurm and not browser" --durations=10 \
		tests/unit tests/test_style.py tests/integration/test_data_build.py

bench: $(VENV)/.installed
	$(BIN)/python -m tests.bench

# The small presets on 7 data shapes x 5 seeds x 2 models (tests/bench/bench_presets.py): how
# many runs learn and how many collapse. About 90 minutes on 2 cores; part of `make bench`.
.PHONY: bench-presets
bench-presets: $(VENV)/.installed
	$(BIN)/python -m tests.bench presets

# Full DeepSEA and DanQ on this node's GPU (tests/bench/bench_gpu.py); KERAS_BACKEND=jax or torch
# uses that framework. Where nothing can be installed, run tests/bench/gpu.sh from a copy of the
# tree: it unpacks Keras from .whl/bench-gpu, which `make bench-gpu-wheels` fills beforehand.
.PHONY: bench-gpu bench-gpu-wheels
bench-gpu: $(VENV)/.installed
	$(BIN)/python -m tests.bench gpu

# The data build on a synthetic hg19-sized genome with 919 tracks (tests/bench/bench_scale.py):
# about 25 minutes on 2 cores and 12 GB of disk in SCALE_DIR (default a temporary folder);
# SCALE_FRACTION=0.02 is a quick check.
.PHONY: bench-scale
bench-scale: $(VENV)/.installed
	$(BIN)/python -m tests.bench scale

BENCH_WHEELS := .whl/bench-gpu
bench-gpu-wheels: $(VENV)/.installed
	$(BIN)/pip download -q --no-deps -d $(BENCH_WHEELS) keras namex rich markdown-it-py mdurl \
		pygments absl-py packaging typing-extensions
	for version in 3.10 3.11 3.12 3.13; do \
		$(BIN)/pip download -q --no-deps --only-binary=:all: --python-version $$version \
			--platform manylinux_2_28_x86_64 -d $(BENCH_WHEELS) optree h5py ml_dtypes || exit 1; \
	done

lint: $(VENV)/.installed
	ruff check .
	ruff format --check .
	lint-imports
	snakefmt --check Snakefile workflow/Snakefile workflow/rules
	snakemake --lint --cores 1

format: $(VENV)/.installed
	ruff check --fix .
	ruff format .
	snakefmt Snakefile workflow/Snakefile workflow/rules

setup: $(VENV)/.installed

# GPU=1 adds TensorFlow's CUDA libraries (pyproject's `gpu` extra) to the venv: on a cluster's
# login node, which has no GPU, for the GPU nodes that use the same venv. It is the default
# where nvidia-smi lists a GPU. Once added they stay ($(GPU_MARK) records it): a later `make`
# without GPU=1 keeps them in a reinstall.
GPU ?= $(if $(filter 0,$(GPUS)),0,1)
GPU_MARK := $(VENV)/.gpu
COMMA := ,
EXTRAS := test$(if $(or $(filter 1,$(GPU)),$(wildcard $(GPU_MARK))),$(COMMA)gpu)

$(VENV)/.installed: pyproject.toml $(if $(filter 1,$(GPU)),$(GPU_MARK))
	@$(MAKE) --no-print-directory python-check GOAL=$(or $(MAKECMDGOALS),setup)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]"
	touch $@

$(GPU_MARK):
	@mkdir -p $(VENV) && touch $@

# Stops in one line unless $(PYTHON) is 3.11+ with venv (RHEL 8's python3 is 3.6).
.PHONY: python-check
python-check:
	@$(PYTHON) -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "seq2chrom needs Python 3.11+ with venv; $(PYTHON) is $$($(PYTHON) --version 2>/dev/null || echo not found). Fix: make $(GOAL) PYTHON=/path/to/python3.11, or \`module load python/3.11\` first (Biowulf), or \`conda env create -p .py311 -f envs/python.yaml\` and PYTHON=.py311/bin/python" >&2; exit 1; }

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

# Installs missing Debian packages (libraries, no command to look for) when root.
.PHONY: packages
packages:
	@missing=""; \
	for package in $(PACKAGES); do dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "ok installed" || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing system packages:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "the MEME reference test needs:$$missing (sudo apt-get install -y$$missing); it is skipped without them" >&2; \
		fi; \
	fi

clean-demo:
	rm -rf results resources/demo .snakemake
