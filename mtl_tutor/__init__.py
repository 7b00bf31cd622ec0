"""mtl_tutor: the helper package of the course book on multi-task learning.

    import mtl_tutor as mt
    mt.setup(seed=0)
    data = mt.from_frame(df, "score", ["reading", "sex"], task="school")  # own data
    model = mt.hard_sharing(data.n_features, (32,), data.tasks)
    history = mt.fit(model, data, epochs=50)
    mt.evaluate(model, data)

The flat namespace holds what the README and the chapters call as `mt.<name>`: set-up,
data, the basic networks, training (one model with `fit`, many seeds and settings at once
with `fit_replicas`), fixed loss weights, soft sharing, paired statistics, plots and the
book's numbers. Specialised parts keep their own namespace: `mt.problems` (the book's
synthetic problems, by chapter), `mt.architectures` (learning what to share),
`mt.weighting` (loss weighting), `mt.penalties`, `mt.losses`, `mt.stats`, `mt.plots`,
`mt.checkpoints`, `mt.linear` (linear MTL), `mt.tensors`, `mt.factorised` (DMTRL),
`mt.adversarial` (gradient reversal), `mt.labs` (the labs' checks), `mt.widgets`.
"""
from . import (
    adversarial,
    architectures,
    checkpoints,
    factorised,
    inference,
    labs,
    linear,
    losses,
    numerics,
    penalties,
    plots,
    problems,
    stats,
    tensors,
    weighting,
    widgets,
)
from .book import assert_claim, fmt, glue
from .claims import Claims
from .compare import Arm, compare
from .data import MultiTaskData, Split, Task
from .experiments import choose_fork, sweep
from .frames import from_arrays, from_frame
from .layers import TaskLinear
from .models import ForkedMLP, count_parameters, hard_sharing, single_task_nets
from .penalties import pairwise_l2, sharing_penalty
from .plots import draw_sharing_diagram, plot_comparison, plot_heatmap, plot_history
from .replicas import fit_replicas, seeded_models
from .runtime import scaled, seeds, set_seed, setup
from .stats import Paired, delta_m, paired, paired_table
from .train import evaluate, fit
from .weighting import FixedWeights

# The one place the version is written: pyproject.toml reads it, and every notebook's Colab
# cell installs the release tagged v<version> (make colab-cells; README, "Publishing").
__version__ = "0.1.0"
__all__ = [
    # set-up
    "setup", "set_seed", "seeds", "scaled",
    # data
    "Task", "Split", "MultiTaskData", "from_frame", "from_arrays",
    # models
    "hard_sharing", "single_task_nets", "ForkedMLP", "TaskLinear", "count_parameters",
    # training: one model, or many replicas at once
    "fit", "evaluate", "fit_replicas", "seeded_models",
    # loss weights and soft sharing
    "FixedWeights", "sharing_penalty", "pairwise_l2",
    # fair comparisons: arms on equal budgets, claims with the right test
    "Arm", "compare", "Claims",
    # experiments, statistics, plots and the book's numbers
    "sweep", "choose_fork", "Paired", "paired", "paired_table", "delta_m",
    "plot_comparison", "plot_heatmap", "plot_history", "draw_sharing_diagram",
    "glue", "fmt", "assert_claim",
    # namespaces
    "problems", "architectures", "weighting", "penalties", "losses", "stats", "inference",
    "plots",
    "checkpoints", "linear", "tensors", "factorised", "adversarial", "labs", "widgets",
    "numerics",
]
