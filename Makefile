# One entry point for people and CI. `make demo` and `make test` set everything up first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup browser js js-test lint pytest test demo clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned (the text extra's tests need it). Its CPU build is wanted: where
	# the package index offers Linux's CUDA build (PyPI does, several GB), add
	# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu to the environment.
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[test,e2e]"
	touch $(STAMP)

setup: $(STAMP)

# Debian's chromium for the browser tests (installed only when missing).
browser:
	scripts/install-chromium

js/node_modules/.package-lock.json: js/package-lock.json
	cd js && npm ci --no-audit --no-fund
	touch $@

# Rebuild the frontend bundle shipped in optiml_widgets/static/ (committed, so that
# `pip install` never needs node).
js: js/node_modules/.package-lock.json
	cd js && npm run build

js-test: js/node_modules/.package-lock.json
	cd js && npm run typecheck && npm test

lint: setup
	$(BIN)/ruff check optiml_widgets optiml_widgets_server tests bench examples scripts
	$(BIN)/ruff format --check optiml_widgets optiml_widgets_server tests bench examples scripts
	$(BIN)/mypy optiml_widgets optiml_widgets_server

pytest: setup
	$(BIN)/python -m pytest

# The whole test suite: lint, frontend unit tests, the built bundle is fresh, Python tests.
test: setup browser js-test lint
	cd js && npm run build
	git diff --exit-code --stat -- optiml_widgets/static || \
		(echo "optiml_widgets/static is stale: run 'make js' and commit it" && exit 1)
	$(BIN)/python -m pytest

# The demo installs only what it needs: the package and a notebook server (the test tooling
# stays with `make test`). The editable install skips the frontend build hook: the built
# bundle is committed, and the hook would run npm and rewrite js/package-lock.json. Headless,
# it also screenshots the export with Chromium. Everything it writes goes to artifacts/demo/.
DEMO_STAMP := $(VENV)/.demo-stamp
DEMO_PACKAGES := "jupyterlab>=4" "ipykernel>=6" "nbclient>=0.10" "nbformat>=5"

$(DEMO_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	HATCH_BUILD_NO_HOOKS=true $(BIN)/pip install --quiet -e . $(DEMO_PACKAGES)
	touch $@

# Headless, Chromium is tried (the export's screenshot); without it the demo still runs.
demo: $(DEMO_STAMP)
	$(if $(HEADLESS),-scripts/install-chromium,)
	$(BIN)/python scripts/demo.py $(if $(HEADLESS),--headless,)

clean:
	rm -rf $(VENV) js/node_modules
