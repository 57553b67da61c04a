"""The definitions of improvement, each written once (data contract, "Default definitions").

Every function takes arrays (or numbers) that broadcast against each other and returns a boolean array of
who meets the definition, so one patient, one cohort, many cohorts or a grid of thresholds all go through
the same line: the chapters, the multiverse, durability and the reconstructions count with these. ``change``
is ``pcl5_pre - pcl5_post`` (positive = improvement).

Examples
--------
>>> import numpy as np
>>> change, post = np.array([9, 10, 15]), np.array([33, 32, 28])
>>> clinically_significant(change, 10).tolist(), remission(post, 33).tolist()
([False, True, True], [False, True, True])
>>> clinically_significant(change[:, None], np.array([5, 10, 15])).sum(axis=0).tolist()  # a grid of thresholds
[3, 2, 1]
"""

from __future__ import annotations

import numpy as np


def clinically_significant(change, mcid):
    """A drop of at least ``mcid`` points."""
    return np.asarray(change) >= mcid


def response(change, pcl5_pre, fraction):
    """A drop of at least ``fraction`` of the patient's own baseline total."""
    return np.asarray(change) >= fraction * np.asarray(pcl5_pre)


def remission(pcl5_post, cutoff):
    """A total below ``cutoff`` after treatment."""
    return np.asarray(pcl5_post) < cutoff


def reliable_change_threshold(sd_pre, reliability):
    """Smallest drop counted as reliable: 1.96 * SD_pre * sqrt(2 (1 - r)) (Jacobson & Truax 1991)."""
    return 1.96 * np.asarray(sd_pre) * np.sqrt(2 * (1 - np.asarray(reliability)))


def reliable_improvement(change, threshold):
    """A drop larger than the reliable change threshold (:func:`reliable_change_threshold`)."""
    return np.asarray(change) > threshold


def reliable_change_marx(change, points):
    """Reliable change on the PCL-5 after Marx et al. (2022): a drop of at least ``points``."""
    return np.asarray(change) >= points


def clinically_significant_marx(change, pcl5_post, points, end_score):
    """Marx et al.'s (2022) combined criterion: that reliable change and a total of at most ``end_score``."""
    return reliable_change_marx(change, points) & (np.asarray(pcl5_post) <= end_score)
