# khgeo — two commands: `make run` (serve the map) and `make test` (the whole suite).
# Both install what is missing first and are idempotent: a second run installs nothing.

PYTHON ?= python3
VENV   := .venv
HOST   ?= 127.0.0.1
PORT   ?= 5000
KHGEO  := $(VENV)/bin/khgeo
PYTEST_ARGS ?=

RUN_PACKAGES  := postgresql-postgis
# gdal-bin: the tests read /ogcapi/ with GDAL's ogrinfo (OGC API – Features client); python3-qgis: and with QGIS
TEST_PACKAGES := $(RUN_PACKAGES) chromium fonts-dejavu-core gdal-bin python3-qgis
CATALOGS := $(patsubst %.po,%.mo,$(wildcard khgeo/translations/*/LC_MESSAGES/messages.po))

.PHONY: run test install install-test system system-test lint bench translations extract-messages clean constraints

run: install
	$(KHGEO) serve --upgrade --seed --host $(HOST) --port $(PORT)

# pytest on every core (pytest-xdist; a module's tests stay on one worker), the 15 slowest listed
test: install-test
	$(VENV)/bin/ruff check khgeo tests benchmarks scripts
	$(VENV)/bin/ruff format --check khgeo tests benchmarks scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -n auto --dist loadfile --durations=15 $(PYTEST_ARGS)

install: system $(VENV)/.installed translations
install-test: system-test $(VENV)/.installed-test translations

system:
	@scripts/install-system.sh $(RUN_PACKAGES)

system-test:
	@scripts/install-system.sh $(TEST_PACKAGES)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip

# constraints.txt: the versions tested together (make constraints writes it from the venv)
$(VENV)/.installed: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -c constraints.txt -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(VENV)/bin/python
	$(VENV)/bin/pip install -q -c constraints.txt -e '.[test]'
	touch $@ $(VENV)/.installed

translations: $(CATALOGS)

%.mo: %.po | $(VENV)/.installed
	$(VENV)/bin/pybabel compile -i $< -o $@

# for developers: refresh the message catalogue after changing UI strings
extract-messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract --ignore-dirs=".venv static" -F babel.cfg -k _l -k lazy_gettext -o khgeo/translations/messages.pot .
	$(VENV)/bin/pybabel update -i khgeo/translations/messages.pot -d khgeo/translations

# after changing dependencies in pyproject.toml and running the tests: pin what was installed
constraints: | $(VENV)/bin/python
	$(VENV)/bin/pip freeze --exclude-editable | grep -v '^khgeo' > constraints.txt

lint: install-test
	$(VENV)/bin/ruff check khgeo tests benchmarks scripts

bench: install-test
	$(VENV)/bin/python benchmarks/map_scale.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
