# The README's commands. Each target sets up the virtual environment first if it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test bench emulator export lint screenshots clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# axe-core for the browser tests' accessibility checks and html-validate for the pages' HTML: test-only, never
# served, pinned by package-lock.json. Without npm, say what is missing rather than "npm: not found".
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  echo "make test needs npm (Node.js's package manager) to install the test-only packages in package.json" \
	       "(axe-core, html-validate), and npm is not installed." >&2; \
	  echo "Install it with 'apt-get install npm' (Debian, Ubuntu), or install Node.js, which includes npm," \
	       "from https://nodejs.org/, then run make test again." >&2; \
	  exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

run: $(STAMP)
	$(BIN)/flask --app app run --host 127.0.0.1 --port 5000

serve: $(STAMP)
	$(BIN)/gunicorn --config gunicorn.conf.py

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/bench.py

emulator: $(STAMP)
	$(BIN)/python -m flux_emulator --port 5001

# make export IDS=<id>,<id> OUT=<folder>: the gallery as static files, as `flask export` writes them.
export: $(STAMP)
	$(BIN)/flask --app app export $(IDS) $(OUT)

# Parallel workers (pytest-xdist) for the 2-core machines CI and developers have: a third worker keeps both cores
# busy while the others wait on sockets, browsers and servers they started; a fourth only added CPU (measured: 206 s
# of CPU and 164 s against 189 s and 157 s with three). loadgroup keeps each xdist_group (tests that share a loaded
# page or a deployment) on one worker; tests/conftest.py keeps that working with pytest 9.2.
# `.venv/bin/python -m pytest tests/some_file.py` still runs in one process.
TEST_WORKERS ?= 3

test: $(NODE_STAMP) $(STAMP)  # npm first: a missing npm is told before minutes of pip
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules instance .pytest_cache .ruff_cache
