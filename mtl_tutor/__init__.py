"""mtl_tutor: the helper package of the course book on multi-task learning.

    import mtl_tutor as mt
    mt.setup(seed=0)
    data = mt.from_frame(df, "score", ["reading", "sex"], task="school")  # own data
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    history = mt.fit(model, data, epochs=50)
    mt.evaluate(model, data)

The flat namespace holds what a user of the README needs: set-up, data, models and layers,
training, loss weighting, soft-sharing penalties, paired statistics, plots. Specialised
parts keep their own namespace: `mt.problems` (the book's synthetic problems, by chapter),
`mt.linear` (linear MTL: solvers and penalties), `mt.tensors` (tensor decompositions),
`mt.factorised` (DMTRL layers), `mt.adversarial` (gradient reversal), `mt.labs` (the
classroom labs' checks), `mt.widgets` (live explorers).
"""
from . import (
    adversarial,
    factorised,
    labs,
    linear,
    numerics,
    problems,
    tensors,
    widgets,
)
from .architectures import (
    BranchedMLP,
    CrossStitch,
    CrossStitchMLP,
    GroupLinear,
    HierarchicalMLP,
    MMoE,
    SluiceMLP,
    TaskCovariancePenalty,
    group_tasks,
    task_affinity,
    task_covariance,
)
from .book import assert_claim, fmt, glue, significant
from .checkpoints import load_checkpoint, save_checkpoint
from .data import KINDS, MultiTaskData, Split, Stacked, Task
from .experiments import choose_fork, summarize, sweep
from .frames import from_arrays, from_frame
from .layers import TaskConv2d, TaskLinear
from .losses import equal_weights, task_error, task_loss, task_losses
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
from .runtime import get_device, pick_device, scaled, seed_offset, seeds, set_seed, setup
from .stats import Paired, delta_m, paired, paired_table
from .train import check_tasks, evaluate, fit
from .weighting import (
    MGDA,
    CAGrad,
    DynamicWeightAverage,
    FixedWeights,
    GradNorm,
    PCGrad,
    UncertaintyWeighting,
    project_conflicts,
)

# The one place the version is written: pyproject.toml reads it, and every notebook's Colab
# cell installs the release tagged v<version> (make colab-cells; README, "Publishing").
__version__ = "0.1.0"
__all__ = [
    # set-up
    "setup", "set_seed", "get_device", "pick_device", "seeds", "scaled", "seed_offset",
    # data
    "Task", "KINDS", "Split", "MultiTaskData", "Stacked", "from_frame", "from_arrays",
    # models and layers
    "hard_sharing", "single_task_nets", "ForkedMLP", "TaskHeads", "TaskLinear", "TaskConv2d",
    "count_parameters", "BranchedMLP", "GroupLinear", "group_tasks", "task_affinity",
    "HierarchicalMLP", "SluiceMLP", "CrossStitch", "CrossStitchMLP", "MMoE",
    "TaskCovariancePenalty", "task_covariance",
    # training and evaluation
    "fit", "evaluate", "check_tasks", "equal_weights", "task_loss", "task_losses", "task_error",
    "save_checkpoint", "load_checkpoint",
    # loss weighting
    "FixedWeights", "UncertaintyWeighting", "DynamicWeightAverage", "GradNorm", "PCGrad",
    "MGDA", "CAGrad", "project_conflicts",
    # soft sharing
    "sharing_penalty", "pairwise_l2", "trace_norm", "mean_task_distance", "singular_values",
    "stacked_weights",
    # experiments, statistics, plots and the book's numbers
    "sweep", "summarize", "choose_fork", "Paired", "paired", "paired_table", "delta_m",
    "plot_comparison",
    "plot_heatmap", "plot_history", "draw_sharing_diagram", "glue", "fmt", "significant",
    "assert_claim",
    # namespaces
    "problems", "linear", "tensors", "factorised", "adversarial", "labs", "widgets",
    "numerics",
]
