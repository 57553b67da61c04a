"""The limitations chapter in words: its sentences and its summary table, written from computed values.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations`; this module only puts them into
sentences, and says so when a value could not be computed or was suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ketamine_ptsd.analysis.limitations import benchmark, pct_change_explained_by_rtm
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY, SUPPRESSED_TEXT
from ketamine_ptsd.analysis.values import as_float as _float
from ketamine_ptsd.analysis.values import plain_frame as _plain
from ketamine_ptsd.parameters import DEFAULTS


def sentence(template: str, missing: str, **values) -> str:
    """``template`` filled with ``values``, or ``missing`` when any value is None (the data could not give it).

    The chapter builds its data-dependent sentences this way, from numbers only, so a value that is absent
    for some cohort gives a sentence saying so instead of a failed build.

    >>> sentence("d = {d:.2f}", "not computed", d=1.234)
    'd = 1.23'
    >>> sentence("d = {d:.2f}", "not computed", d=None)
    'not computed'
    """
    if any(v is None for v in values.values()):
        return missing
    return template.format(**values)


def _fmt(x: float | None, digits: int = 1) -> str:
    return "n/a" if x is None else f"{x:.{digits}f}"


def summary_table(
    *,
    observed_mean_change: float | None,
    observed_d: float | None = None,
    placebo: pd.DataFrame | None = None,
    rtm: Mapping | None = None,
    followup: Mapping | None = None,
    change_followup: Mapping | None = None,
    itt: Mapping | None = None,
    mi: Mapping | None = None,
    represent: pd.DataFrame | None = None,
    tests: pd.DataFrame | None = None,
    safety: Mapping | None = None,
    benchmarks: Sequence[Mapping],
    ci_level: float = DEFAULTS["ci_level"],
    observed_suppressed: bool = False,
    min_cell: int = 0,
) -> pd.DataFrame:
    """One row per limitation: what it could do to the headline effect, by how much, and what would settle it.

    Every number comes from the other functions' outputs passed in; a limitation whose input is missing
    keeps its row with ``quantity`` None and says so. Inputs suppressed by the small-cell rule (None, and
    named in their ``suppressed`` list or cells) are said to be suppressed, never shown.

    Parameters
    ----------
    observed_mean_change : float or None
        The completers' mean change in PCL-5 points.
    observed_d : float, optional
        The cohort's d_av.
    placebo : DataFrame, optional
        From :func:`ketamine_ptsd.analysis.limitations.placebo_sensitivity`.
    rtm : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.rtm_expected_change`.
    followup, change_followup : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.followup_summary` and :func:`~ketamine_ptsd.analysis.limitations.change_by_followup`.
    itt, mi : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.itt_summary` and :func:`~ketamine_ptsd.analysis.limitations.multiple_imputation`.
    represent : DataFrame, optional
        From :func:`~ketamine_ptsd.analysis.limitations.representativeness`.
    tests : DataFrame, optional
        From :func:`~ketamine_ptsd.analysis.limitations.multiplicity`.
    safety : mapping, optional
        From :func:`~ketamine_ptsd.analysis.limitations.zero_event_upper_bound`.
    benchmarks : sequence of mapping
        From :func:`ketamine_ptsd.data.references.load_benchmarks`.
    ci_level : float
        Confidence level of the intervals passed in, for the sentences.
    observed_suppressed : bool
        Whether the observed mean change and d were suppressed (passed as None).
    min_cell : int
        The small-cell rule's threshold, for the sentences.

    Returns
    -------
    pandas.DataFrame
        ``limitation, could_do, quantity, unit, by_how_much, design_to_settle``. ``quantity`` is unrounded;
        ``by_how_much`` is the sentence shown in the book. ``attrs["suppressed"]`` lists the quantities
        hidden by the small-cell rule as ``(row, "quantity")``.
    """
    rows, cells = [], []
    suppressed_text = f"suppressed (it rests on fewer than {min_cell} patients)"

    def hidden(values, key):
        return values is not None and key in values.get(SUPPRESSED_KEY, ())

    def add(limitation, could_do, quantity, unit, text, design, suppressed=False):
        if suppressed:
            cells.append((len(rows), "quantity"))
        rows.append(
            {
                "limitation": limitation,
                "could_do": could_do,
                "quantity": _float(quantity),
                "unit": unit,
                "by_how_much": text,
                "design_to_settle": design,
            }
        )

    # Placebo and expectancy: the largest published placebo-arm d as the plausible ceiling.
    q, text = None, suppressed_text if observed_suppressed else "not computed"
    if placebo is not None and len(placebo) and "in_benchmark_range" in placebo:
        bench = placebo[placebo["in_benchmark_range"].astype(bool)]
        if len(bench):
            row = bench.loc[bench["placebo_d"].astype(float).idxmax()]
            q = row["remaining_d"]
            text = (
                f"if the placebo response equalled the largest control-arm within-group d in the benchmarks "
                f"({row['placebo_d']:.2f}), d_av {_fmt(observed_d, 2)} would fall to {row['remaining_d']:.2f} "
                f"({_fmt(_float(row['pct_of_observed']), 0)}% of the observed)"
            )
    add(
        "no control group: placebo and expectancy response",
        "inflate",
        q,
        "d_av left over",
        text,
        "randomised trial against an active placebo (e.g. midazolam) with blinded outcome raters",
        q is None and observed_suppressed,
    )

    # Regression to the mean.
    q, text = None, "not computed"
    if rtm is not None:
        q = rtm["rtm_expected_change"]
        pct = pct_change_explained_by_rtm(q, observed_mean_change)
        of = (
            "the suppressed mean drop"
            if observed_suppressed
            else f"the {_fmt(observed_mean_change)}-point mean drop ({_fmt(pct, 0)}%)"
        )
        text = (
            f"{q:.1f} points of {of} if patients "
            f"entered at PCL-5 >= {rtm['entry_threshold']:g} from a population with mean "
            f"{rtm['population_mean']:g}, SD {rtm['population_sd']:g}, test-retest r {rtm['reliability']:g}"
        )
    add(
        "regression to the mean",
        "inflate",
        q,
        "PCL-5 points",
        text,
        "a second baseline PCL-5 after selection, or a concurrent comparison group selected the same way",
    )

    # Natural course and follow-up time.
    morina = benchmark(benchmarks, "morina2014_untreated_remission")
    q, text = None, "days_between not available"
    if change_followup is not None and change_followup.get("difference") is not None:
        q = change_followup["difference"]
        text = (
            f"mean drop of completers followed more than {change_followup['split_days']:g} days minus the "
            f"rest: {q:+.1f} points ({ci_level:.0%} CI {_fmt(change_followup['ci_low'])} to "
            f"{_fmt(change_followup['ci_high'])})"
        )
    elif hidden(change_followup, "difference"):
        text = f"long against short follow-up: {suppressed_text}"
    elif change_followup is not None and change_followup.get("reason"):
        text = change_followup["reason"]
    if followup is not None and followup.get("median") is not None:
        text += f"; median follow-up {followup['median']:g} days"
        if followup.get("q1") is not None and followup.get("q3") is not None:
            text += f" (IQR {followup['q1']:g}-{followup['q3']:g})"
    period = benchmark(benchmarks, "morina2014_observation_period")
    if morina is not None and morina["value"] is not None:
        text += f"; untreated PTSD remits in {morina['value']:g}%"
        if period is not None and period["value"] is not None:
            text += f" over a mean of {period['value']:g} months"
        text += " (Morina et al. 2014)"
    add(
        "natural course over the follow-up",
        "inflate",
        q,
        "PCL-5 points, long minus short follow-up",
        text,
        "waiting-list or treatment-as-usual arm assessed on the same schedule",
        hidden(change_followup, "difference"),
    )

    # Dropout.
    q, text = None, "not computed"
    if hidden(itt, "itt_mean_change"):
        text = suppressed_text
    elif itt is not None and itt.get("itt_mean_change") is not None and not itt["n_dropouts"]:
        q = 0.0
        text = (
            f"all {itt['n_patients']} patients in the file have a post score; patients who left before a "
            f"second assessment may never have become records"
        )
    elif itt is not None and itt.get("itt_mean_change") is not None:
        q = itt["completer_mean_change"] - itt["itt_mean_change"]
        text = (
            f"{itt['n_dropouts']} of {itt['n_patients']} patients have no post score; counting them as "
            f"unchanged lowers the mean drop from {itt['completer_mean_change']:.1f} to "
            f"{itt['itt_mean_change']:.1f} points"
        )
        if mi is not None and mi.get("mi_mean_change") is not None:
            text += (
                f"; multiple imputation from baseline gives {mi['mi_mean_change']:.1f} "
                f"({ci_level:.0%} CI {_fmt(mi['mi_ci_low'])} to {_fmt(mi['mi_ci_high'])})"
            )
        elif hidden(mi, "mi_mean_change"):
            text += f"; multiple imputation {suppressed_text}"
    add(
        "dropout (completer analysis)",
        "inflate",
        q,
        "PCL-5 points, completer minus ITT",
        text,
        "follow every patient who starts treatment and analyse by intention to treat, with reasons for leaving",
        hidden(itt, "itt_mean_change"),
    )

    # Representativeness.
    q, text, q_hidden = None, "not computed", False
    if represent is not None and len(represent):
        by = represent.reset_index(drop=True)
        cells_hidden = set(represent.attrs.get("suppressed", ()))
        row_of = {c: i for i, c in enumerate(by["characteristic"])}

        def share(characteristic, column):
            i = row_of[characteristic]
            if (i, column) in cells_hidden:
                return f"a {SUPPRESSED_TEXT} share"
            return f"{_fmt(_float(by.loc[i, column]), 0)}%"

        parts = []
        if "white" in row_of:
            q = _float(by.loc[row_of["white"], "cohort_pct_unreported"])
            q_hidden = (row_of["white"], "cohort_pct_unreported") in cells_hidden
            parts.append(f"race not reported for {share('white', 'cohort_pct_unreported')}")
        if "women" in row_of:
            parts.append(
                f"women {share('women', 'cohort_value')} of those reporting gender "
                f"(Osmind records {_fmt(_float(by.loc[row_of['women'], 'osmind_value']), 0)}% female)"
            )
        text = "; ".join(parts)
    add(
        "records of patients who reached treatment",
        "limit generalisation (direction unknown)",
        q,
        "% race unreported",
        text,
        "multi-site registry with consecutive enrolment and complete demographics",
        q_hidden,
    )

    # Multiplicity.
    q, text = None, "not computed"
    if tests is not None and len(tests):
        k = tests.attrs.get("k", int(tests["p_raw"].notna().sum()))
        alpha_fwer = tests.attrs.get("fwer_uncorrected")
        q = alpha_fwer
        raw = int((tests["significant_raw"] == True).sum())  # noqa: E712 (object column of True/False/None)
        holm = int((tests["significant_holm"] == True).sum())  # noqa: E712
        text = (
            f"{k} tests: chance of at least one false positive {100 * alpha_fwer:.0f}% uncorrected; "
            f"{raw} significant before and {holm} after Holm adjustment"
        )
    add(
        "many moderator tests",
        "create false-positive moderators",
        q,
        "family-wise error rate",
        text,
        "preregistered primary outcome and moderator hypotheses",
    )

    # Safety: what a record without adverse events cannot exclude.
    q, text = None, "no adverse-event data: harms cannot be assessed"
    if safety is not None and safety.get("upper_pct") is not None:
        q = safety["upper_pct"]
        text = (
            f"no adverse-event data; even a record of zero serious events in {safety['n']} patients would "
            f"leave a rate up to {q:.1f}% per patient compatible ({ci_level:.0%} upper bound)"
        )
    add(
        "safety and misuse not recorded",
        "hide harms",
        q,
        "% of patients, upper bound with zero events",
        text,
        "prospective adverse-event and substance-use monitoring with follow-up after the course",
    )

    # Self-report, unblinded.
    add(
        "self-reported, unblinded outcome",
        "inflate",
        None,
        None,
        "not quantifiable from these data: patients knew they received ketamine and rated themselves",
        "blinded clinician-rated CAPS-5 alongside the PCL-5",
    )
    out = _plain(pd.DataFrame(rows))
    out.attrs["suppressed"] = cells
    return out
