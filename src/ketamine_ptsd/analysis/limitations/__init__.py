"""How much of the headline effect could be something other than ketamine.

The "Limitations" chapter sets the cohort's pre-post change beside what an uncontrolled, records-based
design cannot rule out. One module per limitation puts a number on it, from the cohort and from the
published benchmarks (``data/benchmarks.yml``, read by :mod:`ketamine_ptsd.data.references`):

- :mod:`.benchmarks`: no control group (published effects, placebo and expectancy response);
- :mod:`.regression`: regression to the mean;
- :mod:`.followup`: follow-up time and the natural course;
- :mod:`.missing`: dropout (intention to treat, multiple imputation);
- :mod:`.representativeness`: who the patients were;
- :mod:`.multiplicity`: many tests;
- :mod:`.safety`: what a record without adverse events cannot exclude.

The chapter's sentences and its summary table are presentation: :mod:`ketamine_ptsd.presentation.limitations`
has a module of the same name for each of these, writing that limitation's summary row and paragraphs.

Inputs are the validated cohort frame (the data contract's columns). An optional column that is entirely
missing turns the analysis that needs it into ``None`` (or an empty frame) with a ``reason``. Scalars are
plain Python floats/ints or ``None``; every computation is vectorised so a cohort of a million patients
takes seconds.

Small cells. The functions that describe patients take ``min_cell`` (default the build parameter's; 0 turns the rule off)
and apply the book's small-cell rule (:mod:`ketamine_ptsd.analysis.privacy`): a value resting on 1 to
``min_cell - 1`` patients is None, and its name is listed under ``"suppressed"`` of the returned dict, or
its cell as ``(row, column)`` in ``attrs["suppressed"]`` of the returned frame
(:func:`ketamine_ptsd.analysis.privacy.mark_suppressed` turns those into what the book shows and the paths
``results.json`` lists). A percentile counts as resting on the patients at or beyond it on either side, so
the shortest or longest interval (one patient's own value) is never given; the 5th and 95th percentiles
stand in for them.
"""

from ketamine_ptsd.analysis.limitations.benchmarks import (
    benchmark,
    benchmark_numbers,
    benchmarks_table,
    forest_rows,
    placebo_at_largest_control,
    placebo_sensitivity,
)
from ketamine_ptsd.analysis.limitations.followup import (
    change_by_followup,
    followup_points,
    followup_summary,
    lowess_curve,
)
from ketamine_ptsd.analysis.limitations.missing import (
    imputed_post_scores,
    itt_summary,
    missing_data_comparison,
    multiple_imputation,
    rubin_combine,
)
from ketamine_ptsd.analysis.limitations.multiplicity import familywise_error_rate, multiplicity
from ketamine_ptsd.analysis.limitations.regression import (
    GRID_POPULATION_MEANS,
    GRID_POPULATION_SDS,
    GRID_RELIABILITIES,
    baseline_below_threshold,
    inverse_mills_ratio,
    pct_change_explained_by_rtm,
    rtm_expected_change,
    rtm_grid,
)
from ketamine_ptsd.analysis.limitations.representativeness import representativeness
from ketamine_ptsd.analysis.limitations.safety import zero_event_upper_bound

__all__ = [
    "GRID_POPULATION_MEANS",
    "GRID_POPULATION_SDS",
    "GRID_RELIABILITIES",
    "baseline_below_threshold",
    "benchmark",
    "benchmark_numbers",
    "benchmarks_table",
    "change_by_followup",
    "familywise_error_rate",
    "followup_points",
    "followup_summary",
    "forest_rows",
    "imputed_post_scores",
    "inverse_mills_ratio",
    "itt_summary",
    "lowess_curve",
    "missing_data_comparison",
    "multiple_imputation",
    "multiplicity",
    "pct_change_explained_by_rtm",
    "placebo_at_largest_control",
    "placebo_sensitivity",
    "representativeness",
    "rtm_expected_change",
    "rtm_grid",
    "rubin_combine",
    "zero_event_upper_bound",
]
