# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.plait-installed

.PHONY: install browser demo test bench clean

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

test: install browser
	$(PY) -m pytest -q

bench: install
	$(PY) benchmarks/local_llm.py
	$(PY) benchmarks/batch_prompting.py
	$(PY) benchmarks/moderation_fp.py
	$(PY) benchmarks/retrieval_eval.py
	$(PY) benchmarks/react_protocol.py
	$(PY) benchmarks/graph_overhead.py
	$(PY) benchmarks/eval_prompts.py
	$(PY) benchmarks/serve_load.py

clean:
	rm -rf $(VENV) .plait .pytest_cache
