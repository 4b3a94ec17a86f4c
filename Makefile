# Two commands on a fresh machine: `make demo` and `make test` (see README).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test lint format bench clean

CATALOGS := $(wildcard server/locale/*/LC_MESSAGES/halyq.po)

# Installs, then compiles the translations (.po -> .mo; the .mo files are never committed).
$(STAMP): pyproject.toml constraints.txt $(CATALOGS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	$(BIN)/pybabel --quiet compile --domain halyq --directory server/locale
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/halyq demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The gate: the whole suite once under branch coverage (`fail_under` in pyproject.toml), then
# each moderation/ module by its own tests alone (tests/cover_domain.py). The suite runs on
# WORKERS processes (pytest-xdist, one test file per worker at a time), then the `serial` tests
# alone, adding to the same coverage data: those time the product (a first screen under 1 s,
# answers "at once"), which another test's load on a shared core would slow, or write figures
# to the terminal, which a worker's output never reaches. With PYTEST_ARGS, only that
# selection runs, in one process, ungated: a part of the suite cannot reach the whole's
# coverage. The suite's coverage data goes to a folder of its own: pytest-cov erases and
# combines every .coverage.* beside its data file, and another run here must not touch it.
WORKERS ?= 2
test: lint
ifeq ($(strip $(PYTEST_ARGS)),)
	data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT && \
		COVERAGE_FILE="$$data/.coverage" $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile \
			-m "not serial" --cov --cov-branch --cov-report= --cov-fail-under=0 && \
		COVERAGE_FILE="$$data/.coverage" $(BIN)/python -m pytest -m serial \
			--cov --cov-branch --cov-append
	$(BIN)/python tests/cover_domain.py
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
