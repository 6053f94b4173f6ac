# Set-up and everyday commands. A fresh machine needs only python3 (3.11+) and pip.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-deps serve

# System packages (Debian): chromium for the real-browser test (Playwright drives it via
# executable_path; never `playwright install`), hey for benchmarks/bench_load.py.
# Idempotent; works as root without sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
system-deps:
	@command -v chromium >/dev/null && command -v hey >/dev/null || \
	  ($(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium hey)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/rosp demo --out out/demo

serve: $(STAMP)
	$(BIN)/rosp serve --run out/demo/run

test: $(STAMP) system-deps
	$(BIN)/ruff check rosp tests benchmarks
	$(BIN)/pytest -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_scoring.py

clean:
	rm -rf $(VENV) out .pytest_cache
