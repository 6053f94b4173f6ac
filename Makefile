# Set-up and everyday commands. A fresh machine needs only python3 (3.11+) and pip.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean system-deps serve

# System packages (Debian), installed by `make demo` and `make test`:
# - statements (rosp.report): pdftotext/pdftoppm, the DejaVu Sans font shared by
#   vl-convert and WeasyPrint, WeasyPrint's Pango/HarfBuzz libraries;
# - web tests: chromium for the real-browser test (Playwright drives it through
#   executable_path; never `playwright install`), hey for benchmarks/bench_load.py.
# Idempotent: installs only what dpkg does not already have; root or sudo.
SYSTEM_PACKAGES := poppler-utils fonts-dejavu-core libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 chromium hey

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then echo "please install:$$missing"; exit 0; fi; \
	SUDO=""; if [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=sudo; fi; \
	echo "apt-get install$$missing"; \
	$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq$$missing

demo: $(STAMP) system-deps
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
