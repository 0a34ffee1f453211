# eventstack: every target installs what it needs first.
#   make local     run the API on this machine (Azurite + GitHub stand-in + uvicorn)
#   make test      the whole suite: lint, type check, unit, API, policy and attack tests
#   make fast      the suite without the slow scenarios (pytest -m "not slow"), in parallel
#   make preview   offline dry run of what `pulumi up` would create
#   make security  the attack suites and policy tests alone
#   make bench     benchmarks (ratios measured in one run)
#   make conference-day  a rehearsed keynote sign-in wave and event (Locust, ~10 min): build/conference-day/
#   make browser   Debian's headless chromium + chromium-driver for the light-wall test (apt-get, once)
#   make diagram   regenerate the architecture diagram (docs/architecture.mmd, README)
#   make teardown-report  what outlives `pulumi destroy`, for how long, and what ends it sooner
#   make smoke     after `pulumi up`: check the deployment without signing anyone in (URL=... for any copy)

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# The function's dependencies, vendored for Linux once per requirements file (build/ is a cache).
VENDOR_STAMP := build/package/.vendored
# Headless Chromium and its WebDriver for the light-wall browser test (Debian packages; CI runs as root).
BROWSER_STAMP := build/.browser-installed

# pytest-xdist: one worker per core and one more, each with its own Azurite and stand-ins; a worker
# that runs out of tests takes half of another's. The slow scenarios open the workers' first shares
# (tests/scheduling.py); the conference day's mostly waits on the clock, so the extra worker keeps
# every core busy meanwhile (two cores: 243 s against 279 s with two workers, measured in one hour).
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
PYTEST_PARALLEL ?= --numprocesses $(PYTEST_WORKERS) --dist worksteal

.PHONY: install lint typecheck test unit fast security preview local bench clean browser diagram teardown-report smoke conference-day

$(PY_STAMP): requirements.txt requirements-dev.txt function_code/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR_STAMP): function_code/requirements.txt $(PY_STAMP)
	$(PY) -m components.package
	mkdir -p $(dir $@) && touch $@

install: $(PY_STAMP) $(NODE_STAMP) $(VENDOR_STAMP) $(BROWSER_STAMP)

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(PY_STAMP)
	$(VENV)/bin/mypy

unit: install
	$(PY) -m pytest $(PYTEST_PARALLEL)

fast: $(PY_STAMP) $(NODE_STAMP) $(VENDOR_STAMP)
	$(PY) -m pytest $(PYTEST_PARALLEL) -m "not slow"

test: install $(BROWSER_STAMP) lint typecheck unit

security: install
	$(PY) -m pytest $(PYTEST_PARALLEL) tests/security tests/policy

preview: $(PY_STAMP) $(VENDOR_STAMP)
	$(PY) -m dev.preview $(ARGS)

local: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m dev.local

bench: install
	$(PY) -m bench

# A hall of simulated attendees against the local stack, on 127.0.0.1, stopping by itself; fails if a
# check fails. The full run: make conference-day ARGS="--attendees 1000 --duration 45m"
conference-day: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m bench.conference_day $(ARGS)

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache build .local

# The light-wall browser test: Debian's chromium and chromium-driver, installed once (stamp file).
# apt-get needs root (CI runs as root); a machine that already has both skips it.
$(BROWSER_STAMP):
	if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver; \
	fi
	mkdir -p $(dir $@) && touch $@

browser: $(BROWSER_STAMP)

# The architecture diagram (docs/architecture.mmd and the README's copy), from a mocked run.
diagram: $(PY_STAMP) $(VENDOR_STAMP)
	$(PY) -m dev.diagram

# Offline, from the program itself under mocks: exits 1 if the program keeps something it does not list.
teardown-report: $(PY_STAMP) $(VENDOR_STAMP)
	$(PY) -m dev.teardown_report $(ARGS)

# After a deployment (reads `pulumi stack output --json`), or against any copy: make smoke URL=http://127.0.0.1:7071
smoke: $(PY_STAMP)
	$(PY) -m dev.smoke $(URL) $(ARGS)
