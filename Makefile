# The two commands: `make book` (build the HTML book) and `make test` (everything CI runs).
# Both create .venv and install the pinned environment on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NB_DIRS := book
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg --ignore=_build

.PHONY: book test unit notebooks reader build-book colab-like browser-test lab lab-source execute otter \
	otter-env-test robustness colab-cells student student-book publish bench emulate verify-numerics clean

book: $(STAMP) build-book

test: $(STAMP) unit notebooks build-book student-book colab-like

$(STAMP): requirements.txt pyproject.toml mtl_tutor/numerics.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	$(PY) tools/pinned.py --install-kernel
	touch $(STAMP)

# Tests and notebooks run without a network (tools/offline.sh), to prove nothing downloads.
OFFLINE := tools/offline.sh
# Every execution whose outputs are recorded or compared runs under the pinned numerics
# (mtl_tutor/numerics.py: ATen, oneDNN, MKL, OpenBLAS, NumPy and glibc's libm on code paths
# every x86-64-v2 CPU can run, one thread), so Intel and AMD, with or without AVX2 or
# AVX-512, compute the same bits.
PINNED := $(PY) tools/pinned.py

# The unit tests include the fingerprint on emulated CPUs (tests/test_emulated_cpus.py),
# hence qemu-user from Debian's packages.
unit: $(STAMP)
	$(PY) -m ruff check mtl_tutor tests tools
	tools/install_qemu.sh
	$(OFFLINE) $(PINNED) $(PY) -m pytest tests

# nbval re-executes every notebook and compares its text outputs with the stored ones. The
# gate first checks the numerics fingerprint: where it differs from the book's (ARM, say),
# the claims are validated (every cell and hidden check) instead of the printed digits.
# Two notebooks at a time, one per core (each kernel is single-threaded); each notebook's
# cells stay together in one worker (--dist loadfile). NB_WORKERS=1 runs them one by one.
NB_WORKERS ?= 2
notebooks: $(STAMP)
	$(OFFLINE) $(PINNED) $(PY) tools/gate.py $(NBVAL) -n $(NB_WORKERS) --dist loadfile $(NB_DIRS)

# Reader notebooks (tools/reader.py): the notebooks as plain Markdown with the numbers filled
# in, for Colab, Binder, VS Code; _build/reader is the tree of the `notebooks` branch.
reader: $(STAMP)
	$(PY) tools/reader.py

# Renders the stored (nbval-validated) outputs; warnings and broken references fail it. Then
# every page's launch buttons must open its reader notebook, and no page may fetch anything
# from another host (tools/check_site.py).
build-book: $(STAMP) reader
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	cd tools && ../$(PY) check_site.py

# The student edition of the site (tools/student_book.py): lab pages without solutions, no
# instructor guide; built strictly and searched for solutions -> _build/student-book/_build/html
student-book: $(STAMP)
	cd tools && ../$(PY) student_book.py

# Two reader notebooks executed in a fresh venv holding only what a Colab user has (the
# package with loose ranges, torch); installs from the package index, then runs offline.
colab-like: $(STAMP) reader
	$(PY) tools/colab_like.py

# axe-core, the browser test's accessibility engine, from the npm registry at the version
# package-lock.json pins (npm and Node.js: tools/install_chromium.sh installs them if missing)
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	tools/install_chromium.sh
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# The built site in headless Chromium (from Debian's packages), offline, at 400 and 1280 px:
# maths rendered, no sideways scrolling, figures captioned, readable and described (alt
# text), toggles and navigation work, and axe-core finds no critical or serious
# accessibility problem (tools/browser_test.py; its --self-test proves each check can
# fail). Run by .ci/run.
browser-test: $(STAMP) build-book $(AXE)
	tools/install_chromium.sh
	$(OFFLINE) $(PY) tools/browser_test.py --self-test
	$(OFFLINE) $(PY) tools/browser_test.py

# JupyterLab on your own copies of the reader notebooks, in notebooks/ (made on first use;
# later runs add new notebooks and keep your changes). `make lab-source` opens the book's
# sources (MyST; `pip install jupyterlab-myst` renders most of it).
WORKSPACE ?= notebooks
lab: $(STAMP)
	$(PY) tools/reader.py --workspace $(WORKSPACE)
	$(PINNED) $(VENV)/bin/jupyter lab $(WORKSPACE)

lab-source: $(STAMP)
	$(PINNED) $(VENV)/bin/jupyter lab book

# Re-execute notebooks in place after changing mtl_tutor: make execute NB=book/why_mtl.ipynb
NB ?= $(shell find book -name '*.ipynb' -not -path '*/.ipynb_checkpoints/*')
execute: $(STAMP)
	$(PINNED) $(PY) tools/execute.py $(NB)

# Strict nbval on notebooks whose Jupyter kernel runs on an emulated CPU (tools/emulate.py;
# `qemu-x86_64 -cpu help` lists the models; AVX2 at most): about 20 to 50 times slower than
# native, so name a few notebooks: make emulate NB=book/why_mtl.ipynb CPU=EPYC-Rome
CPU ?= Haswell-v4
emulate: $(STAMP)
	tools/install_qemu.sh
	$(OFFLINE) $(PINNED) $(PY) tools/emulate.py nbval $(CPU) $(NB)

# Compute the numerics fingerprint on emulated CPUs and natively, and record in
# book/numerics.json where it matched the book's (the status page shows them).
# CPUS="Haswell-v4 SandyBridge" picks other models (default: tools/emulate.py's CPUS).
CPUS ?=
verify-numerics: $(STAMP)
	tools/install_qemu.sh
	$(PINNED) $(PY) tools/emulate.py record $(CPUS)

# The training engine's benchmark and scaling table, recorded for the status page
# (book/benchmark.json; about 13 minutes on 2 cores; run it on an otherwise idle machine).
bench: $(STAMP)
	$(PY) tools/record_bench.py

# Every notebook again with other seeds and at twice the scale; lists each hidden check that
# fails (book/robustness.json, shown on the status page). Not part of `make test` (about an hour).
robustness: $(STAMP)
	$(OFFLINE) $(PINNED) $(PY) tools/robustness.py $(NB)

# Build the site and the reader tree, and refuse while _config.yml still names the
# placeholder repository or site, or the release the Colab cells install is not tagged.
publish: $(STAMP) build-book
	cd tools && ../$(PY) check_publish.py

# Rewrite every notebook's Colab install cell from the repository URL in _config.yml.
colab-cells: $(STAMP)
	$(PY) tools/colab_cells.py --write

# Student versions of the labs (solutions removed, checks kept), for handing out:
# make student (into student/) or make student STUDENT=../my-class-repo
STUDENT ?= student
# Needs three small pure-Python packages (nbformat, PyYAML, pybtex), not the book's
# environment: the system Python if it has them, else a small venv holding only them
# (_build/student-venv, made on first use; seconds, not the minutes of torch and Jupyter).
STUDENT_NEEDS := nbformat pyyaml pybtex
STUDENT_PY := $(shell python3 -c "import nbformat, yaml, pybtex" 2>/dev/null && echo python3 || echo _build/student-venv/bin/python)
student:
	@test "$(STUDENT_PY)" = python3 || test -x $(STUDENT_PY) || \
		(python3 -m venv _build/student-venv && \
		 _build/student-venv/bin/pip install -q $(STUDENT_NEEDS))
	$(STUDENT_PY) tools/student.py $(STUDENT)

# The labs in otter-grader's assignment format for courses that grade (tools/otter_export.py):
# Otter Assign masters in _build/otter/, each assigned into _build/otter/dist/<lab>/ (student/
# to hand out; autograder/ with the zip, which carries mtl_tutor's source for its environment)
otter: $(STAMP)
	$(PY) tools/otter_export.py _build/otter

# The autograder zip's own environment (tests/test_otter_env.py): a fresh venv built only from
# a zip's requirements (from the package index), then `otter run` there, offline, on model
# and wrong answers. Minutes of installing, so not in `make test`; .ci/run runs it.
otter-env-test: $(STAMP)
	OTTER_ENV_TEST=1 $(PY) -m pytest -q -s tests/test_otter_env.py

clean:
	rm -rf _build student
