"""Students lose nothing, nothing downloads, and the book's outputs repeat exactly."""
import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import mtl_tutor as mt
from mtl_tutor.checkpoints import load_checkpoint, save_checkpoint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data():
    return mt.problems.make_related_tasks(n_tasks=3, n_train=40, n_val=20, seed=0)


def test_interrupt_returns_the_best_model_and_the_history(data):
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    steps = {"n": 0}

    def interrupt_after_a_while():
        steps["n"] += 1
        if steps["n"] == 2 * 10:  # two minibatches per epoch: stop during epoch 10
            raise KeyboardInterrupt
        return 0.0

    with pytest.warns(UserWarning, match="interrupted after 9 epoch"):
        history = mt.fit(model, data, epochs=100, penalty=interrupt_after_a_while,
                         progress=False)
    assert len(history) == 9
    best = history.attrs["best_epoch"]
    assert mt.evaluate(model, data, "val")["loss"].sum() == pytest.approx(
        history.loc[history.epoch == best, "val_loss"].item(), rel=1e-5)


def test_checkpoint_round_trip(tmp_path, data):
    mt.set_seed(0)
    model = mt.hard_sharing(data.n_features, (16,), data.tasks)
    history = mt.fit(model, data, epochs=5, progress=False)
    path = save_checkpoint(tmp_path / "run" / "model.pt", model, history)

    fresh = mt.hard_sharing(data.n_features, (16,), data.tasks)
    loaded = load_checkpoint(path, fresh)
    for (name, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    assert loaded.equals(history) and loaded.attrs["best_epoch"] == history.attrs["best_epoch"]
    # the file holds only tensors and plain values: the safe loader reads it
    assert set(torch.load(path, weights_only=True)) == {"state_dict", "tasks", "history",
                                                         "best_epoch"}
    assert load_checkpoint(save_checkpoint(tmp_path / "bare.pt", model), fresh) is None


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_the_tests_cannot_reach_the_network():
    """pytest-socket (pyproject's addopts) refuses every host but loopback."""
    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("203.0.113.1", 80), timeout=1)


def test_offline_wrapper_blocks_the_network_where_the_machine_allows():
    probe = ("import socket\n"
             "try:\n"
             "    socket.create_connection(('203.0.113.1', 80), timeout=2)\n"
             "except OSError as error:\n"
             "    print('blocked', error.errno)\n")
    result = subprocess.run([str(ROOT / "tools" / "offline.sh"), sys.executable, "-c", probe],
                            capture_output=True, text=True, timeout=60)
    if "no network namespace" in result.stderr:
        pytest.skip("this machine cannot make a network namespace")
    assert result.stdout.startswith("blocked 101")  # ENETUNREACH: no route at all


def text_outputs(nb):
    """Each cell's text: its streams joined (the kernel may split a print into several
    stream messages, as nbval allows for), then each result's plain text."""
    out = []
    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        streams = {}
        for o in outputs:
            if o.get("output_type") == "stream":
                streams[o["name"]] = streams.get(o["name"], "") + "".join(o["text"])
        out.append((streams, [o.get("data", {}).get("text/plain") for o in outputs
                              if o.get("output_type") != "stream"]))
    return out


@pytest.mark.slow
def test_a_notebook_executed_twice_gives_identical_text(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    # Lab 4 trains replicas of two architectures and tests claims in about 25 CPU
    # seconds; nbval compares every notebook's run with its stored one as well.
    path = ROOT / "book" / "labs" / "lab_tensor.ipynb"
    runs = []
    for _ in range(2):
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        runs.append(text_outputs(nb))
    assert runs[0] == runs[1]
    assert json.dumps(runs[0]).count("balanced error") > 0  # the experiment's table
