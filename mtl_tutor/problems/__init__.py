"""The book's problems: synthetic data made from a seed, one module per part of the book.

    mt.problems.make_related_tasks(n_tasks=4, relatedness=0.9)   # Part I (related.py)
    from mtl_tutor.problems import mechanisms                     # Part II
    mt.problems.make_sparse_linear_tasks(n_tasks=8)               # Part III (linear.py)
    from mtl_tutor.problems import digits                         # Part IV, DMTRL
    from mtl_tutor.problems import auxiliary                      # Part V

Your own data do not need any of this: see `mt.from_frame` and `mt.MultiTaskData`.
"""
from . import auxiliary, digits, mechanisms
from .linear import (
    make_clustered_linear_tasks,
    make_latent_basis_linear_tasks,
    make_low_rank_linear_tasks,
    make_sparse_linear_tasks,
)
from .related import (
    make_environment_tasks,
    make_mixed_pair,
    make_related_tasks,
    make_task_family,
    make_task_hierarchy,
    sample_tasks,
)

__all__ = [
    "auxiliary", "digits", "mechanisms",
    "make_related_tasks", "make_environment_tasks", "make_task_family", "make_task_hierarchy",
    "make_mixed_pair",
    "sample_tasks",
    "make_sparse_linear_tasks", "make_low_rank_linear_tasks", "make_clustered_linear_tasks",
    "make_latent_basis_linear_tasks",
]
