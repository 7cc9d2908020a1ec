# hepnb: two commands on a fresh machine.
#   make run   create .venv, install, execute every notebook headless -> build/notebooks, build/report/index.html
#   make test  create .venv if needed, run the unit tests, every notebook (HEPNB_FAST=1) under nbval, and the
#              browser test (make test-browser: every notebook's slider in JupyterLab in a headless Chromium)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# No global MPLBACKEND: kernels must draw inline, or executed notebooks and the report hold no figure.
# `hepnb run` starts its kernels with the inline backend whatever the caller exports.

.PHONY: venv run test test-browser lint lab bench lock strip clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@echo "Creating $(VENV) with the pinned dependencies (torch is the CPU build 2.13.0)..."
	@start=$$(date +%s); \
	$(PYTHON) -m venv $(VENV) && \
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,jets]' && \
	echo "Installed in $$(( $$(date +%s) - start )) s"
	@touch $(STAMP)

run: venv
	$(BIN)/hepnb run --output build

# Unit tests draw with Agg; the notebooks under nbval run in kernels that draw inline, as in JupyterLab. The browser
# test runs last, also when an earlier step failed; make test fails if any step did.
test: venv
	@status=0; \
	MPLBACKEND=Agg HEPNB_FAST=1 $(BIN)/python -m pytest tests hepnb --ignore=tests/browser -p no:cacheprovider || status=1; \
	env -u MPLBACKEND HEPNB_FAST=1 $(BIN)/python -m pytest notebooks --nbval-lax --nbval-current-env \
		-p no:cacheprovider || status=1; \
	$(MAKE) --no-print-directory test-browser || status=1; \
	exit $$status

# The notebooks as a user meets them (tests/browser): JupyterLab on a loopback port in Debian's Chromium (installed
# with apt when missing; Playwright cannot download browsers here), driven by Playwright; screenshots in
# build/screenshots/. The kernels draw inline and run in fast mode with one thread.
test-browser: venv
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser test..."; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y --no-install-recommends chromium >/dev/null || \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y --no-install-recommends chromium >/dev/null; }; \
	fi
	env -u MPLBACKEND HEPNB_FAST=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest tests/browser -p no:cacheprovider

# ruff over the package, the tests and the benchmarks (rules in pyproject.toml; tests/test_lint.py runs it too)
lint: venv
	$(BIN)/ruff check hepnb tests benchmarks
	$(BIN)/ruff format --check hepnb tests benchmarks
	$(BIN)/nbstripout --keep-id --verify notebooks/*.ipynb

# JupyterLab on notebooks/, reachable from this machine only (127.0.0.1), behind a fresh random token that is
# printed here and handed over in JUPYTER_TOKEN (kept out of the process list). port_retries=0: if LAB_PORT is
# taken, fail rather than move to another port than the printed one. As root, JupyterLab needs --allow-root.
LAB_PORT ?= 8888
lab: venv
	@TOKEN=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))'); \
	echo "JupyterLab: http://127.0.0.1:$(LAB_PORT)/lab?token=$$TOKEN"; \
	JUPYTER_TOKEN=$$TOKEN env -u MPLBACKEND $(BIN)/jupyter lab notebooks/ --ip=127.0.0.1 --port=$(LAB_PORT) \
		--ServerApp.port_retries=0 --no-browser $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

bench: venv
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Regenerate the exact pins after changing pyproject.toml (in a throw-away environment).
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --disable-pip-version-check 'torch==2.13.0' -e '.[dev,jets]'
	{ echo "# Exact pins for hepnb (regenerate with 'make lock'). torch is the CPU build 2.13.0."; \
	  .lock-venv/bin/pip freeze --exclude-editable | grep -vi '^hepnb' | sed 's/^torch==2.13.0+cpu$$/torch==2.13.0/' | sort -f; } > constraints.txt
	rm -rf .lock-venv

# Remove outputs and execution counts from the notebooks before committing.
strip: venv
	$(BIN)/nbstripout --keep-id notebooks/*.ipynb

clean:
	rm -rf build .pytest_cache
