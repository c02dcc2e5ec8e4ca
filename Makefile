PY ?= .venv/bin/python

.PHONY: install check test bench demo
install:
	python3 -m venv .venv && .venv/bin/pip install -e '.[dev]'
check:
	$(PY) -m ruff check . && $(PY) -m mypy .
test:
	$(PY) -m pytest
bench:
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done
demo:
	.venv/bin/raydesk demo
