"""Saving and loading trained models and their histories, safely.

A checkpoint holds only tensors and plain Python values (a state dict and the history as
lists), and is read back with `torch.load(weights_only=True)`, which refuses to run code
hidden in a file. To load, build the same model first, then fill it.
"""
from pathlib import Path

import pandas as pd
import torch
from torch import nn


def save_checkpoint(path, model: nn.Module, history: pd.DataFrame | None = None) -> Path:
    """Write the model's weights (and its training history, if given) to `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"state_dict": model.state_dict(),
              "tasks": [t.name for t in getattr(model, "tasks", [])]}
    if history is not None:
        record["history"] = {col: history[col].tolist() for col in history.columns}
        record["best_epoch"] = int(history.attrs.get("best_epoch", 0))
    torch.save(record, path)
    return path


def load_checkpoint(path, model: nn.Module):
    """Fill `model` (built with the same architecture and tasks) from `path`.

    Returns the saved history as a DataFrame, or None if none was saved.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}; save one with save_checkpoint.")
    record = torch.load(path, map_location="cpu", weights_only=True)
    saved_tasks = record.get("tasks", [])
    model_tasks = [t.name for t in getattr(model, "tasks", [])]
    if saved_tasks and model_tasks and saved_tasks != model_tasks:
        raise ValueError(f"The checkpoint was saved for tasks {saved_tasks}, but the model has "
                         f"tasks {model_tasks}: build the model with the same tasks.")
    try:
        model.load_state_dict(record["state_dict"])
    except RuntimeError as error:
        raise ValueError("The checkpoint does not fit this model (different layer sizes?). "
                         "Build the model exactly as when it was saved. "
                         f"Details: {error}") from None
    if "history" not in record:
        return None
    history = pd.DataFrame(record["history"])
    history.attrs["best_epoch"] = record.get("best_epoch", 0)
    return history
