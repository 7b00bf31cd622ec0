"""Bad input anywhere in the public API gives an error that says what is wrong and what to
do, raised before any deep traceback. One row per mistake a student is likely to make."""
import numpy as np
import pandas as pd
import pytest
import torch

import mtl_tutor as mt
from mtl_tutor import MultiTaskData, Split, Task


def split(n=4, y=None, x=None):
    return Split(torch.randn(n, 5) if x is None else x,
                 {"a": torch.randn(n)} if y is None else y)


def data_with(**parts):
    """Two-split-default data for one regression task 'a', with `parts` replaced."""
    tasks = parts.pop("tasks", [Task("a")])
    kw = {"train": split(), "val": split(), "test": split(), **parts}
    return MultiTaskData(tasks, kw["train"], kw["val"], kw["test"])


def nan_inputs():
    x = torch.randn(4, 5)
    x[2, 1] = float("nan")
    return data_with(train=split(x=x))


def good_data():
    return mt.problems.make_related_tasks(n_tasks=2, n_train=8, n_val=4, n_test=4, n_features=5)


def good_model(data=None, **kw):
    data = data or good_data()
    return mt.hard_sharing(data.n_features, (4,), data.tasks, **kw)


def no_val_data():
    data = good_data()
    return MultiTaskData(data.tasks, data.train, None, data.test)


def frame():
    return pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4], "y": [1.0, 2.0, 3.0, 4.0],
                         "g": [0, 0, 1, 1], "label": ["yes", "no", "yes", "no"]})


class OneTaskOut(torch.nn.Module):
    """A model that declares two tasks but predicts only the first."""

    def __init__(self, data):
        super().__init__()
        self.tasks, self.layer = data.tasks, torch.nn.Linear(data.n_features, 1)

    def forward(self, x):
        return {self.tasks[0].name: self.layer(x).squeeze(-1)}


class NoTasks(torch.nn.Module):
    def forward(self, x):
        return {}


def saved_checkpoint(tmp_path):
    path = tmp_path / "model.pt"
    mt.checkpoints.save_checkpoint(path, good_model())
    return path


CASES = {
    "unknown task kind": (lambda: Task("a", "ranking"), ValueError, "kind must be one of"),
    "binary with two outputs": (lambda: Task("a", "binary", 2), ValueError,
                                "a binary task has one output"),
    "multiclass with one class": (lambda: Task("a", "multiclass", 1), ValueError,
                                  "needs outputs >= 2 classes"),
    "duplicate task names": (lambda: data_with(tasks=[Task("a"), Task("a")]), ValueError,
                             "Task names must be unique"),
    "NaN in inputs": (nan_inputs, ValueError, "contains 1 NaN or infinite value.*impute"),
    "inf in targets": (lambda: data_with(val=split(y={"a": torch.tensor([1, 2, np.inf, 0.0])})),
                       ValueError, "val split, task 'a': targets contains 1 NaN or infinite"),
    "targets with an extra axis": (lambda: data_with(train=split(y={"a": torch.randn(4, 1)})),
                                   ValueError, r"shape \(4, 1\), expected \(4,\)"),
    "float class labels": (lambda: data_with(tasks=[Task("a", "multiclass", 3)],
                                             train=split(y={"a": torch.zeros(4)})),
                           TypeError, r"integer class indices \(torch.long\)"),
    "class index out of range": (lambda: data_with(tasks=[Task("a", "multiclass", 3)],
                                                   **{s: split(y={"a": torch.tensor([0, 1, 2, 3])})
                                                      for s in ("train", "val", "test")}),
                                 ValueError, r"must lie in \[0, 3\), got \[0, 3\]"),
    "binary targets not 0/1": (lambda: data_with(tasks=[Task("a", "binary")],
                                                 train=split(y={"a": torch.full((4,), 0.5)})),
                               ValueError, "binary targets must be 0 or 1"),
    "integer regression targets": (
        lambda: data_with(train=split(y={"a": torch.ones(4, dtype=torch.long)})), TypeError,
        r"use y.float\(\)"),
    "targets named after another task": (lambda: data_with(train=split(y={"b": torch.randn(4)})),
                                         ValueError, r"Missing: \['a'\]; unknown: \['b'\]"),
    "empty split": (lambda: data_with(test=split(n=0, y={"a": torch.zeros(0)})), ValueError,
                    "test split is empty"),
    "text inputs": (lambda: data_with(train=split(x=np.array([["a"] * 5] * 4))), TypeError,
                    "must be numbers.*convert text or mixed columns"),
    "tasks given as numbers": (lambda: data_with(tasks=[0, 1]), TypeError,
                               "tasks must be Task objects or task names"),
    "no training split": (lambda: data_with(train=None), ValueError,
                          r"train split is missing.*mt.Split\(x, y\)"),
    "patience without a validation split": (
        lambda: mt.fit(good_model(), no_val_data(), patience=3, progress=False), ValueError,
        r"patience.*no val split.*holdout\(0.2\)"),
    "evaluating a split that is not there": (
        lambda: mt.evaluate(good_model(), no_val_data(), split="val"), ValueError,
        "no val split"),
    "NaN targets without missing_labels": (
        lambda: data_with(train=split(y={"a": torch.tensor([1.0, float("nan"), 0.0, 2.0])})),
        ValueError, "pass missing_labels=True"),
    "a task with no labelled example": (
        lambda: MultiTaskData([Task("a"), Task("b")],
                              Split(torch.randn(3, 5), {"a": torch.randn(3),
                                                        "b": torch.full((3,), float("nan"))}),
                              None, None, missing_labels=True),
        ValueError, "task 'b' has no labelled example.*drop the task"),
    "inf as a missing label": (
        lambda: MultiTaskData([Task("a")], split(y={"a": torch.tensor([1.0, np.inf, 0.0, 2.0])}),
                              None, None, missing_labels=True),
        ValueError, r"infinite values.*NaN marks a missing label"),
    "model output without a task": (
        lambda: mt.fit(OneTaskOut(good_data()), good_data(), epochs=1, progress=False),
        ValueError, "no prediction for task 'task1'.*every task in model.tasks"),
    "from_frame on an array": (lambda: mt.from_frame(np.zeros((4, 2)), ["a"]), TypeError,
                               "needs a pandas DataFrame.*mt.Split"),
    "from_frame with an unknown column": (lambda: mt.from_frame(frame(), ["y", "z"]), ValueError,
                                          r"Unknown column\(s\) \['z'\]"),
    "from_frame with a task column but a list of targets": (
        lambda: mt.from_frame(frame(), ["y"], task="g"), ValueError,
        "either one target column and the task column"),
    "from_frame with a text target": (lambda: mt.from_frame(frame(), "label", task="g"),
                                      TypeError, "'label' holds .* not numbers.*0/1"),
    "from_frame holding out everything": (lambda: mt.from_frame(frame(), ["y"], val=0.5,
                                                                test=0.5),
                                          ValueError, "must leave some for training"),
    "from_frame with class labels": (lambda: mt.from_frame(frame(), ["y"], kind="multiclass"),
                                     ValueError, "regression or binary tasks.*'multiclass'"),
    "a split that is not a Split": (lambda: data_with(test=(torch.randn(4, 5), torch.randn(4))),
                                    TypeError, r"must be an mt.Split\(x, y\), got tuple"),
    "target matrix with a column too many": (
        lambda: data_with(train=Split(torch.randn(4, 5), torch.randn(4, 2))), ValueError,
        r"shape \(4, 2\) do not fit 1 task.*one column per task"),
    "unknown task in fixed weights": (
        lambda: mt.fit(good_model(), good_data(), progress=False,
                       weighting=mt.FixedWeights({"task0": 1, "task1": 1, "taks1": 2})),
        ValueError, r"unknown task\(s\): \['taks1'\] \(a typo"),
    "hold out everything": (lambda: split().holdout(1.0), ValueError,
                            "strictly between 0 and 1"),
    "per-task inputs for the wrong number of tasks": (
        lambda: data_with(train=split(x=torch.randn(3, 4, 5))), ValueError,
        r"so 3 tasks, but there are 1 tasks"),
    "model tasks unknown to the data": (
        lambda: mt.fit(mt.hard_sharing(5, (4,), [Task("task0"), Task("oops")]), good_data(),
                       progress=False),
        ValueError, r"unknown to the data: \['oops'\]; missing from the model: \['task1'\]"),
    "model tasks in another order": (
        lambda: mt.evaluate(mt.hard_sharing(5, (4,), [Task("task1"), Task("task0")]),
                            good_data()),
        ValueError, "the same tasks in another order; build the model with data.tasks"),
    "model without tasks": (lambda: mt.evaluate(NoTasks(), good_data()), TypeError,
                            "needs a `tasks` attribute"),
    "zero learning rate": (lambda: mt.fit(good_model(), good_data(), lr=0.0), ValueError,
                           "learning rate must be positive"),
    "zero epochs": (lambda: mt.fit(good_model(), good_data(), epochs=0), ValueError,
                    "epochs and batch_size must be at least 1"),
    "unknown weighting": (lambda: mt.fit(good_model(), good_data(), weighting="uncertainty"),
                          TypeError, "weighting must be a function.*mt.FixedWeights"),
    "penalty that is not a function": (lambda: mt.fit(good_model(), good_data(), penalty=0.1),
                                       TypeError, "penalty must be a function of no arguments"),
    "model built for another number of features": (
        lambda: mt.evaluate(mt.hard_sharing(7, (4,), good_data().tasks), good_data()),
        ValueError, r"expects inputs of shape \(n, 7\).*data.n_features"),
    "unknown split": (lambda: mt.evaluate(good_model(), good_data(), split="testing"),
                      ValueError, "Unknown split 'testing'"),
    "unknown device": (lambda: mt.runtime.pick_device("gpu"), ValueError,
                       "Unknown device 'gpu': use 'auto', 'cpu', 'cuda' or 'mps'"),
    "no threads": (lambda: mt.setup(threads=0, verbose=False), ValueError,
                   "threads must be at least 1"),
    "relatedness above one": (lambda: mt.problems.make_related_tasks(relatedness=2.0), ValueError,
                              r"relatedness must lie in \[0, 1\]"),
    "negative noise": (lambda: mt.problems.make_environment_tasks(noise=-0.1), ValueError,
                       "noise is a standard deviation and cannot be negative"),
    "too many shared layers": (lambda: mt.ForkedMLP(5, (4,), [Task("a")], n_shared=2),
                               ValueError, r"n_shared must be between 0 \(STL\) and 1"),
    "task-stacked layer fed the wrong width": (
        lambda: mt.TaskLinear(2, 4, 3)(torch.randn(6, 5)), ValueError,
        "expects 4 input features"),
    "negative penalty strength": (
        lambda: mt.sharing_penalty(mt.single_task_nets(5, (4,), [Task("a")]).branches, l2=-1),
        ValueError, "cannot be negative"),
    "penalty on a shared trunk": (lambda: mt.sharing_penalty(good_model().trunk, l2=1.0),
                                  ValueError, "No task-stacked.*model.branches"),
    "cross-stitch on per-task inputs": (
        lambda: mt.architectures.CrossStitchMLP(5, (4,), good_data().tasks)(good_data().train.x),
        ValueError, "needs inputs shared by all tasks.*shared_inputs=True"),
    "sharing strength of one task": (lambda: mt.tensors.sharing_strength(torch.ones(3, 1)),
                                     ValueError,
                                     "at least two tasks"),
    "weight similarity of one task": (lambda: mt.tensors.weight_similarity(torch.ones(3, 1)),
                                      ValueError,
                                      "at least two tasks"),
    "weight similarity of a shared layer": (
        lambda: mt.factorised.layer_weight_similarity(torch.nn.Linear(3, 2)),
        TypeError,
        "similarity 1 by definition"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_a_clear_error(name):
    call, error, message = CASES[name]
    with pytest.raises(error, match=message):
        call()


def test_at_least_thirty_kinds_of_mistake_are_covered():
    assert len(CASES) >= 30


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="No checkpoint at .*save_checkpoint"):
        mt.checkpoints.load_checkpoint(tmp_path / "nothing.pt", good_model())


def test_checkpoint_for_other_tasks(tmp_path):
    other = mt.hard_sharing(5, (4,), [Task("x"), Task("y")])
    with pytest.raises(ValueError, match=r"saved for tasks \['task0', 'task1'\].*same tasks"):
        mt.checkpoints.load_checkpoint(saved_checkpoint(tmp_path), other)


def test_checkpoint_for_another_architecture(tmp_path):
    wider = mt.hard_sharing(5, (8,), good_data().tasks)
    with pytest.raises(ValueError, match="does not fit this model.*exactly as when it was saved"):
        mt.checkpoints.load_checkpoint(saved_checkpoint(tmp_path), wider)
