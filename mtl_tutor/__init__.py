"""mtl_tutor: the helper package of the course book on multi-task learning.

    import mtl_tutor as mt
    mt.setup(seed=0)
    data = mt.make_related_tasks(n_tasks=4, relatedness=0.9)
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    history = mt.fit(model, data, epochs=50)
    mt.evaluate(model, data)
"""
from .book import glue, significant
from .checkpoints import load_checkpoint, save_checkpoint
from .data import KINDS, MultiTaskData, Split, Stacked, Task
from .experiments import choose_fork, summarize, sweep
from .generators import make_environment_tasks, make_related_tasks, sample_tasks
from .layers import TaskLinear
from .models import ForkedMLP, TaskHeads, count_parameters, hard_sharing, single_task_nets
from .penalties import (
    mean_task_distance,
    pairwise_l2,
    sharing_penalty,
    singular_values,
    stacked_weights,
    trace_norm,
)
from .plots import draw_sharing_diagram, plot_comparison, plot_heatmap, plot_history
from .runtime import get_device, pick_device, scaled, set_seed, setup
from .tensors import (
    fold,
    hosvd,
    mode_dot,
    relative_error,
    sharing_strength,
    tensor_dot,
    tt_svd,
    tt_to_tensor,
    tucker_to_tensor,
    unfold,
)
from .train import (
    check_tasks,
    equal_weights,
    evaluate,
    fit,
    task_error,
    task_loss,
    task_losses,
)
from .widgets import explorer, log_slider

__version__ = "0.1.0"
__all__ = [
    "scaled", "Stacked", "task_losses",
    "fold", "hosvd", "mode_dot", "relative_error", "sharing_strength", "tensor_dot", "tt_svd",
    "tt_to_tensor", "tucker_to_tensor", "unfold",
    "load_checkpoint", "save_checkpoint",
    "plot_heatmap",
    "explorer", "log_slider",
    "ForkedMLP", "KINDS", "MultiTaskData", "Split", "Task", "TaskHeads", "TaskLinear",
    "check_tasks", "choose_fork", "count_parameters", "draw_sharing_diagram", "equal_weights",
    "evaluate", "fit", "get_device", "glue", "hard_sharing", "make_environment_tasks",
    "make_related_tasks", "mean_task_distance", "pairwise_l2", "pick_device", "plot_comparison",
    "plot_history", "sample_tasks", "set_seed", "setup", "sharing_penalty", "significant",
    "single_task_nets", "singular_values", "stacked_weights", "summarize", "sweep",
    "task_error", "task_loss", "trace_norm",
]
