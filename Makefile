# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.plait-installed
# The edit loop: no model inference, no training, no browser.
FAST   := not real and not train and not browser

.PHONY: install browser demo lint test test-fast wheel-check bench jailbreak-head helpcentre-scorer tool-scorer tool-need clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel

# Re-runs only when the dependencies change. torch comes first and pinned: the CPU build on
# this machine's disk; a bare `torch` requirement could pull a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(PY) examples/demo.py

# The evaluation report test opens the HTML report in headless Chromium; playwright drives
# Debian's chromium, so no browser download. sudo only when not already root.
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The layers contract in pyproject.toml: no module imports a layer above its own.
lint: install
	PY=$(abspath $(PY)) bash .ci/lint_layers

# Everything: lint, the whole suite (real model, training, browser), then the wheel outside the checkout.
test: install browser lint
	$(PY) -m pytest -q
	$(MAKE) --no-print-directory wheel-check

test-fast: install lint
	$(PY) -m pytest -q -m "$(FAST)"

# Builds the wheel, installs it into a fresh virtual environment outside the checkout and runs
# `plait ask` and the support assistant from there (package data, no checkout paths).
wheel-check: install
	PY=$(abspath $(PY)) bash .ci/wheel_check

bench: install
	$(PY) benchmarks/local_llm.py
	$(PY) benchmarks/batch_prompting.py
	$(PY) -m pip install -q --no-deps pyrit==1.1.0  # its jailbreak templates are data for the benchmark
	$(PY) benchmarks/moderation.py
	$(PY) benchmarks/support.py
	$(PY) benchmarks/retrieval_eval.py
	$(PY) benchmarks/react_protocol.py
	$(PY) benchmarks/graph_overhead.py
	$(PY) benchmarks/eval_prompts.py
	$(PY) benchmarks/serve_load.py

# Rebuilds the packaged jailbreak head from PyRIT's templates (read as files; PyRIT is never imported).
jailbreak-head: install
	$(PY) -m pip install -q --no-deps pyrit==1.1.0
	$(PY) -m plait.chains.jailbreak_train

# Rebuilds the example help centre's evidence scorer (a ~1 MB LoRA on MiniLM; ~45 min on 2 cores, resumable).
HC_QUESTIONS := $(wildcard finetune/data/helpcentre_dev*.jsonl finetune/data/helpcentre_train_*.jsonl)
helpcentre-scorer: install
	$(PY) -m plait.chains.scorer_train --docs agents/data/helpcentre --data $(HC_QUESTIONS) \
		--out agents/data/helpcentre-scorer

# Rebuilds the tool scorer (which tool next, or none; a ~1 MB LoRA on MiniLM; ~28 min on 2 cores, resumable).
tool-scorer: install
	$(PY) -m plait.agents.tool_choice --out agents/data/tool-scorer

# Rebuilds the "does this message need a tool" head (MiniLM + character n-grams; ~1.5 min on 2 cores).
tool-need: install
	$(PY) -m plait.agents.tool_need --out agents/data/tool-need

clean:
	rm -rf $(VENV) .plait .pytest_cache build dist
