# Guanxi: `make run` (install, migrate, demo data, serve) and `make test`.
SHELL := /bin/bash
PORT ?= 8000
DEMO ?= 1
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test install lint format worker check clean-data messages compilemessages

# Find a Python >= 3.12: python3.13, python3.12, python3 (each run and its version checked),
# then pyenv's versions folder.
define FIND_PYTHON
for c in python3.13 python3.12 python3; do \
  p=$$(command -v $$c 2>/dev/null) || continue; \
  "$$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo "$$p"; exit 0; }; \
done; \
root=$$(pyenv root 2>/dev/null || echo "$$HOME/.pyenv"); \
for p in $$(ls -d "$$root"/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
  "$$p" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null && { echo "$$p"; exit 0; }; \
done; exit 1
endef

$(STAMP): pyproject.toml
	@py=$$($(FIND_PYTHON)) || { echo "Guanxi needs Python 3.12 or newer; none was found (tried python3.13, python3.12, python3 and pyenv's versions). Install one and run make again." >&2; exit 1; }; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then \
	  echo "Creating $(VENV) with $$py"; rm -rf $(VENV); "$$py" -m venv $(VENV) || exit 1; fi
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: install
	@$(VENV)/bin/guanxi serve --port $(PORT) --demo $(DEMO) --with-worker

test: install
	$(PY) -m pytest -q $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format . && $(VENV)/bin/ruff check --fix .

worker: install
	$(VENV)/bin/guanxi worker

check: install
	$(VENV)/bin/guanxi check

clean-data:
	rm -rf var/

# Translations: extract strings (ours and unfold's, which ships no catalogue), then compile.
# Needs GNU gettext (msgfmt, xgettext); the compiled .mo files are committed so that a fresh
# machine without gettext still runs translated.
messages: install
	$(PY) scripts/i18n.py extract
	@echo "Fill the empty msgstr entries in guanxi/locale/zh_Hans/LC_MESSAGES/django.po, then: make compilemessages"

compilemessages: install
	$(PY) scripts/i18n.py compile
