"""mtl_tutor: the helper package of the course book on multi-task learning.

    import mtl_tutor as mt
    mt.setup(seed=0)
    data = mt.make_related_tasks(n_tasks=4, relatedness=0.9)
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    history = mt.fit(model, data, epochs=50)
    mt.evaluate(model, data)
"""
from . import numerics
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
from .factorised import (
    DMTRLConv2d,
    DMTRLLinear,
    LAFWeights,
    TTWeights,
    TuckerWeights,
    factorise,
    layer_sharing_strength,
)
from .frames import from_frame
from .generators import (
    make_environment_tasks,
    make_mixed_pair,
    make_related_tasks,
    make_task_family,
    sample_tasks,
)
from .layers import TaskConv2d, TaskLinear
from .linear import (
    ConvergenceWarning,
    LinearProblem,
    choose_strength,
    dirty_model,
    go_mtl,
    proximal_gradient,
)
from .linear_penalties import (
    L1,
    Clustered,
    GroupL1L2,
    GroupL1Linf,
    MeanRegularised,
    Ridge,
    TraceNorm,
)
from .linear_tasks import (
    make_clustered_linear_tasks,
    make_latent_basis_linear_tasks,
    make_low_rank_linear_tasks,
    make_sparse_linear_tasks,
)
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
from .stats import Paired, paired, paired_table
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
from .weighting import (
    DynamicWeightAverage,
    FixedWeights,
    GradNorm,
    PCGrad,
    UncertaintyWeighting,
    project_conflicts,
)
from .widgets import explorer, log_slider

# The one place the version is written: pyproject.toml reads it, and every notebook's Colab
# cell installs the release tagged v<version> (make colab-cells; README, "Publishing").
__version__ = "0.1.0"
__all__ = [
    "fmt", "numerics", "Paired", "paired", "paired_table", "seed_offset", "seeds",
    "BranchedMLP", "GroupLinear", "group_tasks", "task_affinity",
    "HierarchicalMLP",
    "SluiceMLP",
    "make_task_family",
    "CrossStitch", "CrossStitchMLP", "MMoE", "TaskCovariancePenalty", "task_covariance",
    "make_mixed_pair",
    "DynamicWeightAverage", "FixedWeights", "GradNorm", "PCGrad", "UncertaintyWeighting",
    "project_conflicts",
    "DMTRLConv2d", "DMTRLLinear", "LAFWeights", "TTWeights", "TuckerWeights",
    "layer_sharing_strength", "factorise",
    "TaskConv2d",
    "assert_claim", "check_tasks", "choose_fork", "choose_strength", "Clustered",
    "ConvergenceWarning",
    "count_parameters",
    "dirty_model", "draw_sharing_diagram", "equal_weights", "evaluate", "explorer", "fit",
    "fold", "ForkedMLP", "from_frame", "get_device", "glue", "go_mtl", "GroupL1L2", "GroupL1Linf",
    "hard_sharing", "hosvd", "KINDS", "L1", "LinearProblem", "load_checkpoint", "log_slider",
    "make_clustered_linear_tasks", "make_environment_tasks", "make_latent_basis_linear_tasks",
    "make_low_rank_linear_tasks", "make_related_tasks", "make_sparse_linear_tasks",
    "mean_task_distance", "MeanRegularised", "mode_dot", "MultiTaskData", "pairwise_l2",
    "pick_device", "plot_comparison", "plot_heatmap", "plot_history", "proximal_gradient",
    "relative_error", "Ridge", "sample_tasks", "save_checkpoint", "scaled", "set_seed", "setup",
    "sharing_penalty", "sharing_strength", "significant", "single_task_nets", "singular_values",
    "Split", "Stacked", "stacked_weights", "summarize", "sweep", "Task", "task_error",
    "task_loss", "task_losses", "TaskHeads", "TaskLinear", "tensor_dot", "trace_norm",
    "TraceNorm", "tt_svd", "tt_to_tensor", "tucker_to_tensor", "unfold",
]
