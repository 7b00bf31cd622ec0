"""mtl_tutor: the helper package of the course book on multi-task learning.

    import mtl_tutor as mt
    mt.setup(seed=0)
    data = mt.make_related_tasks(n_tasks=4, relatedness=0.9)
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    history = mt.fit(model, data, epochs=50)
    mt.evaluate(model, data)
"""
from .book import glue, significant
from .data import KINDS, MultiTaskData, Split, Task
from .experiments import summarize, sweep
from .generators import make_related_tasks
from .layers import TaskLinear
from .models import ForkedMLP, TaskHeads, count_parameters, hard_sharing, single_task_nets
from .plots import draw_sharing_diagram, plot_comparison, plot_history
from .runtime import get_device, pick_device, set_seed, setup
from .train import check_tasks, equal_weights, evaluate, fit, task_error, task_loss

__version__ = "0.1.0"
__all__ = [
    "glue", "significant", "draw_sharing_diagram",
    "KINDS", "MultiTaskData", "Split", "Task", "summarize", "sweep", "make_related_tasks",
    "TaskLinear", "ForkedMLP", "TaskHeads", "count_parameters", "hard_sharing",
    "single_task_nets", "plot_comparison", "plot_history", "get_device", "pick_device",
    "set_seed", "setup", "check_tasks", "equal_weights", "evaluate", "fit", "task_error",
    "task_loss",
]
