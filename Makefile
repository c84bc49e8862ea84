# Every target installs what it needs first; a second run skips what is already there.
SHELL := /bin/bash
.DEFAULT_GOAL := help

SOLC_VERSION := 0.8.28
VENV := .venv
STAMP_PY := $(VENV)/.installed
STAMP_NPM := node_modules/.installed
SOLC_BIN := .solcx/solc-v$(SOLC_VERSION)
ANVIL_DIR := $(CURDIR)/node_modules/@foundry-rs/anvil-linux-amd64/bin
RPC_URL ?= http://127.0.0.1:8545

# ape-solidity asks py-solc-x for solc-v<version> in this folder; ape-foundry finds anvil on PATH.
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export PATH := $(CURDIR)/$(VENV)/bin:$(ANVIL_DIR):$(PATH)
export RPC_URL

.PHONY: help setup browser broker compile lint test test-fast fuzz demo node deploy simulate serve live live-status soak bench backtest clean

help:
	@echo "make demo     simulate a community day on a local anvil: summary table and report/plots (installs everything first)"
	@echo "make test     lint, then run the test suite on anvil, one worker per core plus one (TEST_WORKERS=0: one process)"
	@echo "make test-fast the suite without its long end-to-end modules (the inner loop while coding)"
	@echo "make lint     ruff and mypy over the Python (pyproject.toml configures both)"
	@echo "make node     run a persistent local anvil on 127.0.0.1:8545 (state in .anvil/)"
	@echo "make deploy   deploy a fresh system to RPC_URL (default $(RPC_URL))"
	@echo "make simulate the community day of make demo on the node at RPC_URL (deploys there first if needed; HOUSEHOLD_OWNER=0x… gets a household)"
	@echo "make serve    the API and the web app on http://127.0.0.1:8000 for the deployment at RPC_URL"
	@echo "make soak     the live community under load, faults, bad input and a hostile run, against its goals: benchmarks/soak.md (about an hour)"
	@echo "make live     a live community under supervisord: broker, a self-mining chain, LIVE_HOUSEHOLDS households (100), its clock LIVE_SPEED× the wall's (60); Ctrl-C stops"
	@echo "make live-status each program of make live with its last problem, and the latest intervals' progress (from another terminal)"
	@echo "make bench    measure gas per operation against the budgets"
	@echo "make backtest backtest the forecasts on simulated communities against their goals: benchmarks/forecast.md (about 20 minutes)"
	@echo "make fuzz     run the system invariants for FUZZ_ACTIONS actions (default 50000) over FUZZ_SEEDS random seeds (default 4; FUZZ_SEED=n[,m] replays seeds)"

setup: $(STAMP_PY) $(STAMP_NPM) $(SOLC_BIN)

$(STAMP_PY): requirements.lock pyproject.toml
	@echo "==> the pinned Python packages into $(VENV) (first run on a new machine: several minutes)"
	test -x $(VENV)/bin/python || python3.11 -m venv $(VENV) || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --disable-pip-version-check -r requirements.lock
	# The energy_grid package itself, editable (its dependencies are the lock's, installed above).
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

$(STAMP_NPM): package-lock.json
	@echo "==> npm ci: solc, anvil, OpenZeppelin, Chart.js, Swagger UI"
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(SOLC_BIN): toolchain/solc.js | $(STAMP_NPM)
	mkdir -p .solcx
	ln -sf ../toolchain/solc.js $@

# ape's own change detection misses contracts whose imports changed: recompile everything when
# any source changed since the last build.
SOURCES := $(shell find contracts -name '*.sol' -not -path 'contracts/.cache/*')
BUILD_STAMP := .build/.compiled

$(BUILD_STAMP): $(SOURCES) ape-config.yaml | setup
	@echo "==> compiling the contracts (about 40 s)"
	ape compile --force
	touch $@

compile: $(BUILD_STAMP)

# Seconds, and cached: run first so a style or type error fails before the long suite. Both run,
# so one pass shows every finding.
lint: $(STAMP_PY)
	@status=0; ruff check . || status=1; mypy || status=1; exit $$status

# The browser tests drive Debian's chromium (Playwright's own browser download needs a host
# outside the package registries).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }

# The MQTT tests start a real mosquitto, Debian's package: PyPI has MQTT clients but not the broker.
# Debian installs it in /usr/sbin, off an ordinary user's PATH, so that folder is looked in too.
broker:
	@PATH="$$PATH:/usr/sbin" command -v mosquitto >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mosquitto; }

# The modules run on pytest-xdist workers, each with its own anvil on a port of its own
# (ape-foundry's `host: auto`); --dist loadfile keeps a module's tests, and so its module-scoped
# deployments, in one worker, and --no-loadscope-reorder hands modules out in collection order
# (longest first, tests/conftest.py). One worker more than there are cores: each worker alternates
# between its Python and its anvil, so two workers left a third of two cores idle. TEST_WORKERS=0
# runs everything in one process (one worker's output, easier to read when debugging).
CORES := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
TEST_WORKERS ?= $(shell echo $$(( $(CORES) + 1 )))
TEST_ARGS := -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# Every worker imports every test module, which pytest first rewrites for its assertion messages
# (some 10 s of a worker's CPU) and keeps in __pycache__ for the next run, unless the environment
# asks Python not to write bytecode: some containers set PYTHONDONTWRITEBYTECODE, and then every run
# rewrote the modules in every worker. An empty value turns it off for the tests.
test test-fast: export PYTHONDONTWRITEBYTECODE :=

test: lint compile browser broker
	ape test tests/ $(TEST_ARGS)

# The inner loop: every module but the long end-to-end ones (marked slow in tests/conftest.py).
test-fast: compile
	ape test tests/ $(TEST_ARGS) -m "not slow"

# The simulation starts an anvil of its own (ape-foundry's embedded one traces every step of every
# transaction in memory: gigabytes over a simulated day).
demo: compile
	ape run demo

node: setup
	mkdir -p .anvil
	anvil --host 127.0.0.1 --port 8545 --chain-id 31337 --state .anvil/state.json --state-interval 5

deploy: compile
	ape run deploy --network $(RPC_URL)

# HOUSEHOLD_OWNER=0x… hands one household of the community (its meter, its vault balances and
# stablecoin in its wallet) to that address, e.g. a browser wallet's.
HOUSEHOLD_OWNER ?=
simulate: compile
	ape run demo --rpc-url $(RPC_URL) $(if $(HOUSEHOLD_OWNER),--household-owner $(HOUSEHOLD_OWNER))

serve: setup
	energy-grid --rpc-url $(RPC_URL) serve

# The live community (energy_grid/live/): mosquitto, an anvil that mines by itself, the set-up and
# every service under supervisord, in the foreground (Ctrl-C stops them all); its state, logs and
# configuration in .live/, where the next run resumes (LIVE_ARGS=--fresh starts a new chain).
LIVE_HOUSEHOLDS ?= 100
LIVE_SPEED ?= 60
LIVE_ARGS ?=
live: setup compile broker
	energy-grid live up --households $(LIVE_HOUSEHOLDS) --speed $(LIVE_SPEED) $(LIVE_ARGS)

# What `make live` is doing, from another terminal: the venv's energy-grid, on make's PATH.
live-status: $(STAMP_PY)
	energy-grid live status

# The soak (energy_grid/live/soak/): the live community run for real, each run on a new chain in a
# temporary folder: 100 households for 32 intervals, the same with kill -9 of the gateway, keeper,
# broker and chain, 1,000 households with 1,000 bad messages among their readings, and the hostile
# run (100 households, poison and bad messages, kill -9 of every program, a pause, a reorganisation
# and the node down). Writes benchmarks/soak.json and soak.md; exits 1 when a goal does not hold.
# About an hour; SOAK_RUNS picks runs (steady,faults,thousand,hostile).
SOAK_RUNS ?= steady,faults,thousand,hostile
soak: setup compile broker
	python -m energy_grid.live.soak --runs $(SOAK_RUNS)

# The bench runs on its own anvil (anvil's default dev accounts are ape's test accounts):
# ape-foundry's embedded one traces every step of every transaction and keeps it in memory,
# and the 1,000-participant demand-response case would need over 12 GB there. --prune-history: the
# past states it keeps stay in memory instead of gigabytes left on disk.
# `python -m energy_grid.cli.own_anvil` starts that anvil on a free port (on BENCH_PORT when set, refusing it
# when another process listens there: the bench never runs on a chain it did not start), points ape
# at it through APE_FOUNDRY_HOST, and stops it when the command ends.
BENCH_PORT ?=
bench: compile
	python -m energy_grid.cli.own_anvil --port "$(BENCH_PORT)" --port-name BENCH_PORT --prune-history 64 -- \
	ape run bench --network ethereum:local:foundry

# The forecasts backtested on two simulated communities (one held out) and timed for 1,000
# households, against their goals (energy_grid/bench/forecast.py); no chain. Exits 1 when a goal is missed.
backtest: setup
	python -m energy_grid.bench.forecast

# The system state machine (tests/test_system_invariants.py) on its own anvil, as the bench: the
# embedded one keeps every step of every transaction in memory, and by default anvil writes each
# older block's state to disk (one block per action: tens of GB for 50,000); --prune-history keeps
# the last 256 states in memory only. The port: as the bench's (FUZZ_PORT, else a free one).
# FUZZ_ACTIONS are split evenly over FUZZ_SEEDS random seeds, each printed before it runs;
# FUZZ_SEED=s[,s2,...] runs those seeds instead (a failing seed replays alone with the share it had).
# Then COUPLED_BOOKS random coupled books (default 10,000) from the seed COUPLED_SEED (a random one,
# printed, when unset) are cleared by the contract library and checked against the reference and
# the linear program.
FUZZ_PORT ?=
FUZZ_ACTIONS ?= 50000
FUZZ_SEEDS ?= 4
COUPLED_BOOKS ?= 10000
ifeq ($(COUPLED_SEED),)
COUPLED_SEED := $(shell python3 -c "import random; print(random.randrange(2**31))")
endif
fuzz: compile
	FUZZ_ACTIONS=$(FUZZ_ACTIONS) FUZZ_SEEDS=$(FUZZ_SEEDS) FUZZ_SEED=$(FUZZ_SEED) \
	python -m energy_grid.cli.own_anvil --port "$(FUZZ_PORT)" --port-name FUZZ_PORT --prune-history 256 -- \
	ape test tests/test_system_invariants.py -k test_fuzz_system -q -s -p no:cacheprovider
	@echo "coupled books: COUPLED_SEED=$(COUPLED_SEED)"
	COUPLED_BOOKS=$(COUPLED_BOOKS) COUPLED_SEED=$(COUPLED_SEED) \
	ape test tests/test_coupled_clearing_contract.py -k random -q -p no:cacheprovider

clean:
	rm -rf .build contracts/.cache .solcx
