# The README's commands. Every target installs the locked set into .venv itself, so a fresh clone
# needs nothing but python3 and make. The lock: requirements/dev.txt (everything, hashed) and
# requirements/main.txt (production's subset, same pins; the Docker image installs it).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
STAMP := $(VENV)/.installed
LOCKS := requirements/main.txt requirements/dev.txt
# --universal: one lock for every platform and Python >= 3.11 (markers where they differ).
COMPILE := $(UV) pip compile --quiet pyproject.toml --generate-hashes --universal \
	--python-version 3.11 --custom-compile-command "make lock"

.PHONY: run test lint types unit bench soak lock upgrade clean

# uv itself comes from the lock too (requirements/uv.txt is its entry of dev.txt, hashed).
$(UV): requirements/uv.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes \
		--no-deps -r requirements/uv.txt
	touch $(UV)

$(STAMP): pyproject.toml $(LOCKS) $(UV)
	$(PYTHON) tools/lock.py check
	$(UV) pip sync --quiet --compile-bytecode --python $(BIN)/python --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m sandbox.launch

lint: $(STAMP)
	$(PYTHON) tools/lock.py check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/hadolint Dockerfile
	$(BIN)/deptry .
	$(BIN)/lint-imports

types: $(STAMP)
	$(BIN)/mypy

# Bytecode first (installed packages are compiled by `pip sync`): otherwise every worker and
# every process the tests start compiles the same modules at once. Slow tests first, handed
# out two at a time (tests/conftest.py). 8 workers: the tests mostly wait (on sockets, timers,
# other processes), and since their processes fork from a zygote (tests/zygote.py) the suite
# uses about 1.5 of the 2 cores.
# pytest's rewritten test modules are cached once too (a collection, ~3 s), even where the
# environment says PYTHONDONTWRITEBYTECODE (then each worker rewrote all 330 of them; a
# failing collection is reported by the run that follows).
unit: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 bot pipeline sandbox bench tests
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest --collect-only -q -p no:cacheprovider > /dev/null || true
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n 8 --dist load --maxschedchunk 2 --durations=10 --cov \
		--cov-report=term:skip-covered --cov-fail-under=80

# lint, types and the tests side by side: the tests mostly wait on sockets and timers, which
# leaves room on two cores for ruff and mypy (output is kept together per target).
test: $(STAMP)
	@start=$$(date +%s); status=0; \
	$(MAKE) --no-print-directory -j3 --output-sync=target lint types unit || status=$$?; \
	echo "make test: $$(( $$(date +%s) - start )) s wall"; exit $$status

bench: $(STAMP)
	$(BIN)/python -m bench

soak: $(STAMP)
	$(BIN)/python -m bench.soak

# Re-resolve after editing dependencies in pyproject.toml (keeps every pin that still fits).
lock: $(UV)
	$(COMPILE) --extra dev -o requirements/dev.txt
	$(COMPILE) --constraint requirements/dev.txt -o requirements/main.txt
	$(PYTHON) tools/lock.py stamp

# Move every package to its newest release, then prove the project still passes.
upgrade: $(UV)
	$(COMPILE) --upgrade --extra dev -o requirements/dev.txt
	$(COMPILE) --constraint requirements/dev.txt -o requirements/main.txt
	$(PYTHON) tools/lock.py stamp
	$(MAKE) --no-print-directory test

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage
