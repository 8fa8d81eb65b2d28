# The two commands: `make up` (install on first run, start everything) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK := $(PY) -m stack

.PHONY: up down status logs wipe test test-unit test-sor lint format install help bench chaos

help:
	@echo "make up       install what is missing, start the whole stack, print where to go"
	@echo "make test     run every test (starts the stack first when it is not running), then the"
	@echo "              cluster stage: the cluster's tests and one round of each of its drills on"
	@echo "              a 3-broker stack of their own, stopped at the end (10-16 min more)"
	@echo "make test-cluster  the cluster stage alone"
	@echo "make status   state of each component     make logs   follow every log (C=soi: one)"
	@echo "make down     stop everything, keep data  make wipe   stop and delete all data"
	@echo "make test-sor the system of record's tests, on MariaDB alone (no Kafka needed)"
	@echo "make lint     ruff check and format check"
	@echo "make bench    benchmarks against the running stack (BENCH_ARGS='latency --quick')"
	@echo "make chaos    kill -9 and freeze each component under load, then check nothing was lost"
	@echo "              (CHAOS_ARGS='--rounds 1 --fault kill-soi'; on BANK_TOPOLOGY=cluster also"
	@echo "              kill-broker, restart-brokers, freeze-broker, kill-connect-task)"

# First run: Debian packages (MariaDB, build deps of mysqlclient, kcat, Chromium), then the venv.
$(VENV)/.installed: pyproject.toml stack/install-system-packages.sh
	@bash stack/install-system-packages.sh
	@echo "==> creating the Python virtualenv in $(VENV) and installing the project"
	@$(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade pip
	@$(PY) -m pip install --progress-bar off -e '.[dev]' | grep -E '^(Collecting|Successfully)' || true
	@$(PY) -c "import MySQLdb, faust, fastapi, django" || { echo "Python install failed"; exit 1; }
	@touch $@

install: $(VENV)/.installed
	@$(STACK) install-deps

up: install
	@$(STACK) up

down:
	@$(STACK) down

status:
	@$(STACK) status

# `make logs C=soi` follows one component's log.
logs:
	@$(STACK) logs $(C)

wipe:
	@$(STACK) wipe --yes

# The suite, then the cluster stage also when the suite failed (a CI log shows both); fails when
# either did.
test: up
	@status=0; $(PY) -m pytest || status=$$?; \
	$(PY) -m tests.cluster.stage || status=1; exit $$status

# The cluster's tests and one round of each cluster drill, on a 3-broker stack of their own
# (this one when BANK_TOPOLOGY=cluster, else one on ports 500 above, stopped at the end).
test-cluster: $(VENV)/.installed
	@$(PY) -m tests.cluster.stage

# Scenarios and options: `$(PY) -m bench --help`; results in bench/results/.
bench: up
	@$(PY) -m bench $(BENCH_ARGS)

# Faults and options: `$(PY) -m bench.chaos --help`; results in bench/results/.
chaos: up
	@$(PY) -m bench.chaos $(CHAOS_ARGS)

test-unit: $(VENV)/.installed
	@$(PY) -m pytest -m unit

# The system of record's tests need MariaDB alone: started without Kafka when nothing runs.
test-sor: $(VENV)/.installed
	@$(STACK) up --database-only
	@$(PY) -m pytest -m database

lint: $(VENV)/.installed
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed
	@$(VENV)/bin/ruff format .
	@$(VENV)/bin/ruff check --fix .
