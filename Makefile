# scaling-book: `make book` builds the book, `make test` checks it. Both create .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
BOOK_FLAGS ?= -W --keep-going

.PHONY: book serve test unit chapters bench lock clean help

help:
	@echo "make book   build the HTML book into _build/html (executes every chapter)"
	@echo "make serve  serve _build/html at http://127.0.0.1:$(PORT)/<site path>/ as GitHub Pages will (PORT=...)"
	@echo "make test   unit tests, then every chapter executed with its claims checked"
	@echo "make bench  speed benchmarks (ratios against a baseline, printed)"

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	rm -rf _build/.jupyter_cache  # cached chart HTML names the vega versions of the old install
	touch $@

_static/vega-bundle.js: $(STAMP) scalinglib/vega_bundle.py
	$(PY) -m scalinglib.vega_bundle $@

book: $(STAMP) _static/vega-bundle.js
	@$(PY) -m scalinglib.site uncache  # the scorecard reads the other pages' results: always re-executed
	$(VENV)/bin/jupyter-book build . $(BOOK_FLAGS)
	@echo ""
	@echo "The book is at: file://$(CURDIR)/_build/html/index.html"
	@if [ -z "$$CI" ]; then \
	  if [ "$$(uname)" = Darwin ]; then open _build/html/index.html; \
	  elif [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ] && command -v xdg-open >/dev/null; then xdg-open _build/html/index.html >/dev/null 2>&1 & \
	  fi; \
	fi

# Python's http.server on _build/html, under the site's path (html.baseurl) and with 404.html, as on GitHub Pages.
PORT ?= 8000
serve:  # no install step: it serves what `make book` built
	@test -f _build/html/index.html || { echo "no built book in _build/html: run make book first"; exit 1; }
	$(PY) -m scalinglib.site serve --dir _build/html --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest -m "not chapter"

chapters: $(STAMP)
	$(PY) -m pytest -m chapter

bench: $(STAMP)
	$(PY) -m benchmarks

lock: $(STAMP)
	$(PY) -m pip freeze --exclude-editable | grep -v '^scalinglib' > requirements.lock

clean:
	rm -rf _build
