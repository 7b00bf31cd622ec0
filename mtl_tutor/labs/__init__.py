"""Checks for the lab exercises: call one on your answer and it tells you what is right, or
gives a hint about the most likely mistake. It never shows the solution.

    from mtl_tutor import labs
    labs.check_total_loss(my_total_loss)

Every check prints its verdict and returns a `Verdict`, which is true when the answer passed
(for scripts and autograders; a notebook shows only the printed message).
"""
from .lab_auxiliary import check_gradient_reversal
from .lab_auxiliary_dann import check_dann_loss, check_reversal_schedule
from .lab_linear import check_group_soft_threshold, check_soft_threshold
from .lab_linear_solver import check_proximal_gradient
from .lab_mechanisms import check_shuffle
from .lab_mechanisms_parts import check_noisy_copies, check_parameter_count
from .lab_sharing import check_pairwise_penalty, check_total_loss
from .lab_sharing_heads import check_head_outputs
from .lab_tensor import check_mean_cosine
from .lab_tensor_factors import check_auc, check_laf_factors
from .lab_weighting import check_delta_m, check_uncertainty_loss
from .lab_weighting_pcgrad import check_pcgrad
from .verdict import Verdict

__all__ = ["Verdict", "check_auc", "check_dann_loss", "check_delta_m",
           "check_gradient_reversal", "check_group_soft_threshold", "check_head_outputs",
           "check_laf_factors", "check_mean_cosine", "check_noisy_copies",
           "check_pairwise_penalty", "check_parameter_count", "check_pcgrad",
           "check_proximal_gradient", "check_reversal_schedule", "check_shuffle",
           "check_soft_threshold", "check_total_loss", "check_uncertainty_loss"]
