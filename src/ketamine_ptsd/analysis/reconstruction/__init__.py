"""Cohorts that reproduce the published aggregates, and what the unpublished data leave open.

The study's raw data are not public. :mod:`.bundled` generates the bundled synthetic cohort from a seed;
:mod:`.many` makes many such cohorts, each from its own seed and each meeting every constraint exactly; and
:mod:`.spread` gives, per cohort, the statistics the paper did not report (how far they spread is how much
they depend on the unpublished data) and checks each cohort against the constraints apart from the search.
Every number the searches aim at comes from :class:`.targets.Targets`.
"""

from ketamine_ptsd.analysis.reconstruction.bundled import bundled_cohort, search_scores, write_cohort
from ketamine_ptsd.analysis.reconstruction.many import (
    LATENT_R_RANGE,
    PSYCHOTHERAPY_SHARE,
    Reconstructions,
    count_options,
    long_format,
    reconstruct_cohort,
    reconstruct_many,
)
from ketamine_ptsd.analysis.reconstruction.spread import (
    PERCENT_CLAIMS,
    STATISTICS_COLUMNS,
    UNREPORTED,
    meets_constraints,
    reconstruction_statistics,
    spread_table,
)
from ketamine_ptsd.analysis.reconstruction.targets import DEFAULT_SEED, TARGETED_CLAIMS, ReconstructionError, Targets

__all__ = [
    "DEFAULT_SEED",
    "LATENT_R_RANGE",
    "PERCENT_CLAIMS",
    "PSYCHOTHERAPY_SHARE",
    "STATISTICS_COLUMNS",
    "TARGETED_CLAIMS",
    "UNREPORTED",
    "ReconstructionError",
    "Reconstructions",
    "Targets",
    "bundled_cohort",
    "count_options",
    "long_format",
    "meets_constraints",
    "reconstruct_cohort",
    "reconstruct_many",
    "reconstruction_statistics",
    "search_scores",
    "spread_table",
    "write_cohort",
]
