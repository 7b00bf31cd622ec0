# The two commands: `make book` (build the HTML book) and `make test` (everything CI runs).
# Both create .venv and install the pinned environment on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB_DIRS := book
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --ignore=_build

.PHONY: book test unit notebooks build-book lab execute colab-cells student clean

book: $(STAMP) build-book

test: $(STAMP) unit notebooks build-book

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

# Tests and notebooks run without a network (tools/offline.sh), to prove nothing downloads.
OFFLINE := tools/offline.sh

unit: $(STAMP)
	$(PY) -m ruff check mtl_tutor tests tools
	$(OFFLINE) $(PY) -m pytest tests

# nbval re-executes every notebook and compares its text outputs with the stored ones.
notebooks: $(STAMP)
	$(OFFLINE) $(PY) -m pytest $(NBVAL) $(NB_DIRS)

# Renders the stored (nbval-validated) outputs; warnings and broken references fail it.
build-book: $(STAMP)
	$(VENV)/bin/jupyter-book build . -W -n --keep-going

lab: $(STAMP)
	$(VENV)/bin/jupyter lab book

# Re-execute notebooks in place after changing mtl_tutor: make execute NB=book/why_mtl.ipynb
NB ?= $(shell find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*')
execute: $(STAMP)
	$(PY) tools/execute.py $(NB)

# Rewrite every notebook's Colab install cell from the repository URL in _config.yml.
colab-cells: $(STAMP)
	$(PY) tools/colab_cells.py --write

# Student versions of the labs (solutions removed, checks kept), for handing out:
# make student (into student/) or make student STUDENT=../my-class-repo
STUDENT ?= student
student: $(STAMP)
	$(PY) tools/student.py $(STUDENT)

clean:
	rm -rf _build student
