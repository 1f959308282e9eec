# Two commands on a fresh machine: `make run` (demo on the local emulator) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean bench-http bench-landing bench-soak bench-soak-postgres bench-soak-selfcheck bench-soak-preferences bench-fuzz bench-delivery bench-soap-codec

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

## Serve the app on the local Marketing Cloud emulator with demo data, print demo links and write
## instance/demo.env (the demo's settings: `set -a; . instance/demo.env; set +a; .venv/bin/flask check-config`).
run: $(STAMP)
	$(BIN)/python -m scripts.demo

## Lint, format check and the whole test suite.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks, soak and fuzzers of docs/benchmarks.md (each under 10 minutes on 2 cores; figures last).
bench-http: $(STAMP)
	$(BIN)/python -m bench.http

bench-landing: $(STAMP)
	$(BIN)/python -m bench.landing

bench-soak: $(STAMP)
	$(BIN)/python -m bench.soak --db sqlite

bench-soak-postgres: $(STAMP)
	$(BIN)/python -m bench.soak --db postgres

## The soak through a proxy that answers 90 % of POSTs 503 without forwarding them: its verdict must fail.
bench-soak-selfcheck: $(STAMP)
	$(BIN)/python -m bench.soak --requests 100 --sabotage 0.9 | tee /dev/stderr \
		| grep "5xx answers to requests the journal did not hold" > /dev/null

## Preference changes (list unsubscribes and resubscribes) while Marketing Cloud is down, with SIGKILLs.
bench-soak-preferences: $(STAMP)
	$(BIN)/python -m bench.soak_preferences --db sqlite
	$(BIN)/python -m bench.soak_preferences --db postgres

bench-fuzz: $(STAMP)
	$(BIN)/python -m bench.fuzz

bench-delivery: $(STAMP)
	$(BIN)/python -m bench.delivery

bench-soap-codec: $(STAMP)
	$(BIN)/python -m bench.soap_codec

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache instance
