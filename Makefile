# The NeMo RL Book: set-up, build, test and preview.
#   make book   - build the book (creates .venv and installs what it needs if missing)
#   make test   - build the book if needed, then run the whole test suite
#   make serve  - preview the built site on http://127.0.0.1:8000
#   make live   - author's preview: saving a page rebuilds it and reloads the browser (sphinx-autobuild)
#   make fresh-check - the two commands above in a fresh clone with an empty model cache (.ci/fresh-clone)
# See BUILD_INSTRUCTIONS.md for profiles, audiences, caching and troubleshooting.

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
BOOK_HTML ?= book/_build/html
PORT   ?= 8000

# Notebooks train on the CPU: one torch thread per process and a passive
# OpenMP wait policy stay fast when two processes share this machine's cores.
export OMP_NUM_THREADS ?= 1
export OMP_WAIT_POLICY ?= PASSIVE
export PYTHONHASHSEED ?= 0
# Nothing in the build or the tests may reach a model hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: book test serve setup clean clean-all

# The venv is (re)installed when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

# The site's own JavaScript (ipywidgets manager, MathJax, axe-core, vnu) comes from
# pinned npm packages; reinstalled when package-lock.json changes.
node_modules/.installed: package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20 (apt-get install -y nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(BIN)/.installed node_modules/.installed

book: setup
	$(BIN)/jupyter-book build book/ -W -n --keep-going
	@echo "HTML: $(BOOK_HTML)/index.html  (preview: make serve)"

test: book browser-deps
	$(BIN)/python -m pytest

serve:
	@test -f $(BOOK_HTML)/index.html || { echo "error: no built site at $(BOOK_HTML); run 'make book' first"; exit 1; }
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory $(BOOK_HTML)

# make lab - install the dev extra and a `nemo-rl-book` kernel for this venv, then open JupyterLab on the notebooks.
.PHONY: lab
lab: setup
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name nemo-rl-book --display-name "Python (nemo-rl-book)"
	$(BIN)/jupyter lab book/notebooks

clean:
	rm -rf book/_build

clean-all: clean
	rm -rf $(VENV) node_modules

# make notebooks-full - execute every notebook under the `full` (CUDA) profile into
# book/_build/executed-full/: executed notebooks, outcomes/<notebook>.json and status.json
# (profile, hardware, versions, wall time per notebook), for the scheduled GPU workflow.
.PHONY: notebooks-full
notebooks-full: setup
	RL_LAB_PROFILE=full $(BIN)/bookkit notebooks --profile full --out book/_build/executed-full

# make browser-deps - what the browser and HTML-validity tests need: Debian's Chromium (installed with apt when missing and running as root) and the pinned npm packages (axe-core, vnu-jar, widget JS).
.PHONY: browser-deps
browser-deps: node_modules/.installed
	@if [ ! -x /usr/bin/chromium ]; then if [ "$$(id -u)" = 0 ]; then apt-get update && apt-get install -y --no-install-recommends chromium; else echo "error: /usr/bin/chromium is missing; run 'sudo apt-get install -y chromium'"; exit 1; fi; fi

# make fresh-check - `make book` and `make test` in a fresh clone of HEAD with an empty rl_lab model
# cache and no book/_build (.ci/fresh-clone); ARGS passes numerics, e.g.
# ARGS="ATEN_CPU_CAPABILITY=default RL_LAB_THREADS=2 OMP_NUM_THREADS=2".
.PHONY: fresh-check
fresh-check:
	.ci/fresh-clone $(ARGS)

# make live - the author's loop: serve the book on http://127.0.0.1:$(PORT) and, on every save under
# book/, rebuild what changed and reload the browser (sphinx-autobuild, from the test extra, installed
# when missing, run through bookkit.cli.live: a Sphinx process set up before the save builds it). Sphinx reads book/conf.py, which `jupyter-book config sphinx` writes from _config.yml
# and _toc.yml (git-ignored; regenerated when either changes: restart make live after editing them).
# Notebooks come from the execution cache that `make book` fills; unchanged ones never re-run.
# Warnings are shown, not fatal: `make book` stays the strict check. Output: $(LIVE_DIR), apart from
# `make book`'s HTML. Edits to src/rl_lab refresh the API pages too. Pagefind indexing and figure
# numbering are off (LIVE_OPTS= turns them back on).
LIVE_DIR  ?= book/_build/live
LIVE_OPTS ?= -D bookkit_search_enabled=0 -D bookkit_figure_numbers=0 -D html_use_index=0
.PHONY: live
book/conf.py: book/_config.yml book/_toc.yml
	$(BIN)/jupyter-book config sphinx book/ >/dev/null

live: setup book/conf.py
	@$(BIN)/python -c "import sphinx_autobuild" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m bookkit.cli.live book $(LIVE_DIR) -d $(LIVE_DIR)-doctrees -n $(LIVE_OPTS) \
		--host 127.0.0.1 --port $(PORT) --ignore "$(CURDIR)/book/_build" --ignore "$(CURDIR)/book/conf.py" \
		--ignore "$(CURDIR)/book/api/rl_lab" --ignore "$(CURDIR)/book/api/nemo_rl" --watch src/rl_lab \
		--ignore "*/.ipynb_checkpoints/*" --ignore "*~" --ignore "*.sw?" --ignore "*/.#*"
