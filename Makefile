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
# each moderation/ module by its own tests alone (tests/cover_domain.py). With PYTEST_ARGS,
# only that selection runs, ungated: a part of the suite cannot reach the whole's coverage.
# The suite's coverage data goes to a folder of its own: pytest-cov erases and combines every
# .coverage.* beside its data file, and another run in this tree must not touch this one's.
test: lint
ifeq ($(strip $(PYTEST_ARGS)),)
	data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT && \
		COVERAGE_FILE="$$data/.coverage" $(BIN)/python -m pytest --cov --cov-branch
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
