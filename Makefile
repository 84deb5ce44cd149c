# Developer entry points. `make` alone lists them.
PYTHON ?= python3
VENV := .venv
# Stamp inside .venv: .gitignore already covers it, and deleting .venv resets it.
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
# The browser tests drive Debian's chromium (never a downloaded browser); make test installs it.
CHROMIUM ?= /usr/bin/chromium
.PHONY: help venv install compile lint browser test demo bench clean

help:
	@echo "make install  create $(VENV) if missing and install armsledger[dev] (alias: venv)"
	@echo "make compile  byte-compile the packages (test, demo and bench do it first)"
	@echo "make lint     ruff and mypy (configured in pyproject.toml)"
	@echo "make test     lint, Debian's chromium if absent, then the tests against a throwaway PostgreSQL"
	@echo "              (PYTEST_ARGS=... appends; a missing browser fails the browser tests here)"
	@echo "make browser  install Debian's chromium (for the browser tests) when $(CHROMIUM) is absent"
	@echo "make demo     run 'armsledger demo'"
	@echo "make bench    run the benchmarks (bench/run_all.py) on SQLite and a throwaway PostgreSQL;"
	@echo "              figures, targets and met in bench/out/summary.json (docs/benchmarks.md)"
	@echo "make clean    remove caches and build output (keeps $(VENV); rm -rf $(VENV) to reset it)"

# Order-only: the interpreter's mtime (a symlink to the system python) is
# meaningless, only its existence matters.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the declared dependencies change.
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

venv install: $(STAMP)

# The packages byte-compiled (only what changed): where PYTHONDONTWRITEBYTECODE is set, every process the
# tests, the demo and the benchmarks start (commands, services, verify's workers) would otherwise compile
# them all from source again, as an installed package never does.
compile: install
	$(VENV)/bin/python -m compileall -q ledger domain projections nodes

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Debian's chromium package, installed with apt when absent (as root, or through sudo).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
		if [ "$$(id -u)" = 0 ]; then as_root=; else as_root=sudo; fi; \
		echo "installing Debian's chromium for the browser tests"; \
		$$as_root apt-get update && $$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; \
	fi

# ARMSLEDGER_REQUIRE_BROWSER: here a missing browser fails the browser tests instead of skipping them.
# -n auto: one pytest-xdist worker per core (each with its own broker and databases); --dist loadfile
# keeps a file's tests, and so its module fixtures, in one worker. A third of the suite's time is
# waiting on the broker and subprocesses, which the other worker fills.
test: lint browser compile
	ARMSLEDGER_REQUIRE_BROWSER=1 ARMSLEDGER_CHROMIUM=$(CHROMIUM) \
		deploy/with-test-postgres $(VENV)/bin/pytest -q -p no:cacheprovider -n auto --dist loadfile tests $(PYTEST_ARGS)

demo: compile
	$(VENV)/bin/armsledger demo

bench: compile
	deploy/with-test-postgres $(VENV)/bin/python bench/run_all.py

clean:
	rm -rf build *.egg-info .pytest_cache .hypothesis .mypy_cache .ruff_cache bench/out
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
