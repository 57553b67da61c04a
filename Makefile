# The README's two commands: `make report` and `make test`. Both create .venv/ from the lock file first,
# so they work on a machine with nothing but Python 3.11 and pip.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# `make report DATA=path/to/cohort.csv OUT=dir` builds the book for another cohort file.
DATA ?= data/cohort.csv
OUT ?= _build
# `make report DATA=export.csv COLUMNS=mapping.yml` reads a clinic's export through a column mapping.
COLUMNS ?=
LINTED := src tests benchmarks tools

# `make publish REMOTE=name-or-url` puts OUT's book on that git remote's gh-pages branch.
REMOTE ?= origin

.PHONY: report preview pdf publish test test-fast install lock benchmark mutation clean

report: $(VENV)/.installed
	$(BIN)/ketamine-ptsd build --data "$(DATA)" --out "$(OUT)" $(if $(COLUMNS),--columns "$(COLUMNS)")

# Builds into OUT/preview, serves it on 127.0.0.1:PORT and rebuilds on every save, reloading the open page.
PORT ?= 8000
preview: $(VENV)/.installed
	$(BIN)/ketamine-ptsd preview --data "$(DATA)" --out "$(OUT)/preview" --port "$(PORT)" $(if $(COLUMNS),--columns "$(COLUMNS)")

# The book and its PDF (OUT/book.pdf), printed by Debian's Chromium; without it, says how to install it.
pdf: $(VENV)/.installed
	$(BIN)/ketamine-ptsd build --data "$(DATA)" --out "$(OUT)" --pdf

# Refuses a build that failed or is older than its sources; never publishes OUT/.state or OUT/failed.
publish: $(VENV)/.installed
	$(BIN)/ketamine-ptsd publish --out "$(OUT)" --remote "$(REMOTE)"

# Lint and format first: CI fails on either before the slower tests run.
test: $(VENV)/.installed
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/python -m pytest --durations=10

# The unit tier, for the edit-test loop: no builds, no processes, no browser, no scale tests (a test of this
# tier that starts a process fails and asks to be marked), on every core. `make test` runs both tiers, one at a time.
test-fast: $(VENV)/.installed
	KETAMINE_PTSD_FAST_TIER=1 $(BIN)/python -m pytest -q -n auto --durations=10 -m "not (pipeline or browser or spawns or scale)"

# Mutation score of the modules of analysis/ (benchmarks/mutation.py); needs mutmut in the venv
# (.venv/bin/pip install mutmut==3.8.1: 3.8.0 fails under pytest 9), not in CI. All modules take about two hours on two cores;
# `make mutation MUTATE="bias.py durability.py"` runs some.
MUTATE ?=
mutation: $(VENV)/.installed
	$(BIN)/python benchmarks/mutation.py $(MUTATE)

install: $(VENV)/.installed

# Reinstalled whenever the lock or the package metadata changes.
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Re-pin after changing pyproject.toml's dependencies; environment.yml must follow (a test checks it).
lock: $(VENV)/.installed
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^ketamine-ptsd' > requirements.lock
	$(BIN)/python tools/sync_environment.py

# Speed and memory figures (not tests): the build at three cohort sizes, and the reconstruction search.
benchmark: $(VENV)/.installed
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/reconstruct.py

clean:
	rm -rf _build test-artifacts
