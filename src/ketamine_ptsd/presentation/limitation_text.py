"""The limitations chapter in words: its sentences and its summary table, written from computed values.

The numbers come from :mod:`ketamine_ptsd.analysis.limitations`; this module only puts them into
sentences, and says so when a value could not be computed or was suppressed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ketamine_ptsd.analysis.limitations import benchmark, pct_change_explained_by_rtm, placebo_at_largest_control
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
    bias: Mapping | None = None,
    benchmarks: Sequence[Mapping],
    ci_level: float = DEFAULTS["ci_level"],
    observed_suppressed: bool = False,
    min_cell: int = DEFAULTS["min_cell"],
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
    bias : mapping, optional
        From :func:`ketamine_ptsd.analysis.bias.bias_analysis`.
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
    row = placebo_at_largest_control(placebo) if placebo is not None else None
    if row is not None:
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
            else f"the {_fmt(observed_mean_change)}-point mean drop ({_fmt(pct)}%)"
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
        k, alpha_fwer = tests.attrs["k"], tests.attrs["fwer_uncorrected"]
        q = alpha_fwer
        raw, holm = tests.attrs["n_significant"]["raw"], tests.attrs["n_significant"]["holm"]
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

    # Every bias at once: the robustness chapter's probabilistic bias analysis.
    q, text = None, "not computed"
    if bias is not None and bias.get("bias_attributable_change_median") is not None:
        q = bias["bias_attributable_change_median"]
        text = (
            f"removing placebo response, regression to the mean, dropouts not at random and chance together "
            f"leaves {q:.1f} points of the mean drop for ketamine ({ci_level:.0%} simulation interval "
            f"{bias['bias_attributable_change_low']:.1f} to {bias['bias_attributable_change_high']:.1f}; "
            f"chapter 'How robust is the result?')"
        )
    elif hidden(bias, "bias_attributable_change_median"):
        text = suppressed_text
    elif bias is not None and bias.get("reason"):
        text = f"not computed: {bias['reason']}"
    add(
        "all of these biases at once",
        "inflate",
        q,
        "PCL-5 points left for ketamine (median)",
        text,
        "randomised placebo-controlled trial analysed by intention to treat",
        hidden(bias, "bias_attributable_change_median"),
    )
    out = _plain(pd.DataFrame(rows))
    out.attrs["suppressed"] = cells
    return out


# --------------------------------------------------------------------------------------------------
# the chapter's sentences, one function per paragraph that depends on the data


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def _join(lines) -> str:
    return " ".join(line for line in lines if line)


def headline(outcome: Mapping, ci_level: float, min_cell: int):
    """The number under scrutiny: the completers' mean change and d_av, or why they are not shown."""
    if outcome[SUPPRESSED_KEY]:
        missing = (
            f"The number under scrutiny, the completers' within-group effect d_av, is suppressed: it would rest on "
            f"fewer than {min_cell} completers, so the comparisons below that rest on it are left out."
        )
    else:
        missing = (
            "The number under scrutiny, the completers' within-group effect d_av, could not be computed from these "
            "data (it needs at least two completers whose scores vary), so the comparisons below that rest on it "
            "are left out."
        )
    return _markdown(
        sentence(
            "The number under scrutiny: among the {n:,d} completers the PCL-5 total fell by {change:.2f} points on "
            "average, a within-group effect of d_av = {d:.2f} ({level:.0%} CI {lo:.2f} to {hi:.2f}).",
            missing,
            n=outcome["n_completers"],
            change=outcome["mean_change"],
            d=outcome["d_av"],
            level=ci_level,
            lo=outcome["d_av_ci_low"],
            hi=outcome["d_av_ci_high"],
        )
    )


def placebo(at_max: Mapping | None, outcome: Mapping):
    """What would be left of d_av if the non-drug response were the largest control arm's
    (``at_max``: :func:`ketamine_ptsd.analysis.limitations.placebo_at_largest_control`)."""
    if outcome[SUPPRESSED_KEY]:
        missing = "The sensitivity table is suppressed with the cohort's d_av, which rests on too few completers."
    else:
        missing = (
            "The sensitivity table could not be computed: it needs the cohort's d_av and a control-arm "
            "within-group d in the benchmarks."
        )
    row = at_max if at_max is not None else {}
    return _markdown(
        sentence(
            "If the non-drug response were as large as the largest control-arm within-group d in the benchmarks, "
            "{p:.2f}, this cohort's d_av of {d:.2f} would shrink to {rem:.2f}: {pct:.0f}% of what was observed, or "
            "{pts:.1f} of the {change:.1f} points.",
            missing,
            p=row.get("placebo_d"),
            d=outcome["d_av"],
            rem=row.get("remaining_d"),
            pct=row.get("pct_of_observed"),
            pts=row.get("remaining_points"),
            change=outcome["mean_change"],
        )
    )


def regression_to_the_mean(rtm: Mapping, pct_rtm: float | None, entry: Mapping, outcome: Mapping, min_cell: int):
    """Regression to the mean against the observed change, and how many patients started below the
    assumed entry threshold (never how low: the lowest baseline is one patient's score)."""
    hide_outcome = bool(outcome[SUPPRESSED_KEY])
    lines = [
        sentence(
            "That is {pct:.1f}% of the observed mean drop of {change:.2f} points.",
            "The observed mean change is suppressed, so no share of it is given."
            if hide_outcome
            else "The observed mean change is zero or unknown, so no share of it can be attributed.",
            pct=pct_rtm,
            change=outcome["mean_change"],
        ),
        sentence(
            "A second route uses the cohort's own mean baseline, {pre:.2f}: (1 - rho) times its distance above the "
            "assumed population mean gives {alt:.2f} points.",
            "",
            pre=outcome["pre_mean"],
            alt=rtm["rtm_from_observed_pre_mean"],
        ),
    ]
    follows = (
        "so the clinic did not select patients by it; a lower threshold selects less and predicts less regression."
    )
    if "n_below" in entry[SUPPRESSED_KEY]:
        lines.append(
            f"Fewer than {min_cell} patients (their number is suppressed) started below the assumed threshold, "
            f"{follows}"
        )
    elif entry["n_below"]:
        lines.append(
            sentence(
                "{k:,d} of {n:,d} patients ({pct:.1f}%) started below the assumed threshold, " + follows,
                "",
                k=entry["n_below"],
                n=entry["n"],
                pct=entry["pct_below"],
            )
        )
    elif entry["n"]:
        lines.append(
            "No patient started below the assumed threshold, which is consistent with selection by it but "
            "does not show it."
        )
    return _markdown(_join(lines))


def rtm_grid(grid: pd.DataFrame):
    """How far regression to the mean reaches over the grid of assumptions
    (:func:`ketamine_ptsd.analysis.limitations.rtm_grid`)."""
    has_pct = "pct_of_observed_change" in grid
    return _markdown(
        sentence(
            "Across the grid (population means {m0:.0f} to {m1:.0f}, SDs {s0:.0f} to {s1:.0f}, test-retest r "
            "{r0:.2f} to {r1:.2f}), regression to the mean explains between {lo:.1f}% and {hi:.1f}% of the observed "
            "change: at most {pts:.2f} points.",
            "Across the grid, regression to the mean predicts a drop of at most {pts:.2f} points.".format(
                pts=grid["rtm_expected_change"].max()
            ),
            m0=grid["population_mean"].min(),
            m1=grid["population_mean"].max(),
            s0=grid["population_sd"].min(),
            s1=grid["population_sd"].max(),
            r0=grid["reliability"].min(),
            r1=grid["reliability"].max(),
            lo=grid["pct_of_observed_change"].min() if has_pct else None,
            hi=grid["pct_of_observed_change"].max() if has_pct else None,
            pts=grid["rtm_expected_change"].max(),
        )
    )


def followup(follow: Mapping, min_cell: int):
    """How long after the first assessment the second was made
    (:func:`ketamine_ptsd.analysis.limitations.followup_summary`), or that the file does not say."""
    if follow["n"] == 0:
        return _markdown(
            "**The data file gives no time between the two assessments** (neither `days_between` nor the "
            "two dates), so nothing in this section can be computed: whether the change was measured after "
            "days or after years, whether it lasted, and how much of it the natural course could explain are "
            "all unknown for this cohort."
        )
    if follow["n"] is None:
        text = (
            f"Fewer than {min_cell} completers have a known interval between the assessments, so how long "
            "it was is suppressed."
        )
    else:
        text = sentence(
            "The {n:,d} completers with a known interval were reassessed a median of {med:.0f} days after their "
            "first assessment",
            f"For the {follow['n']:,d} completers with a known interval, the median time "
            f"between the assessments is suppressed: fewer than {min_cell} of them lie on one side of it",
            n=follow["n"],
            med=follow["median"],
        )
        spread = [
            sentence("interquartile range {q1:.0f} to {q3:.0f}", "", q1=follow["q1"], q3=follow["q3"]),
            sentence(
                "nine in ten between {lo:.0f} and {hi:.0f} days, the 5th and 95th percentiles",
                "",
                lo=follow["p05"],
                hi=follow["p95"],
            ),
        ]
        if follow["median"] is not None and any(spread):
            text += " (" + "; ".join(part for part in spread if part) + ")"
        text += "."
        if follow["median"] is not None and set(follow[SUPPRESSED_KEY]) & {"q1", "q3", "p05", "p95"}:
            text += f" Percentiles with fewer than {min_cell} completers beyond them are suppressed."
    if "n_completers_missing" in follow[SUPPRESSED_KEY]:
        text += f" For fewer than {min_cell} completers the interval is not recorded."
    elif follow["n_completers_missing"]:
        text += f" For {follow['n_completers_missing']:,d} completers the interval is not recorded."
    return _markdown(text)


def change_by_followup(by_time: Mapping, follow: Mapping, ci_level: float):
    """Short against long follow-up (:func:`ketamine_ptsd.analysis.limitations.change_by_followup`), or why
    they could not be compared; None when the section's opening already says the interval is unknown."""
    from ketamine_ptsd.presentation.prose import format_p

    if by_time["difference"] is not None and by_time["p"] is not None:
        return _markdown(
            sentence(
                "Completers followed for more than {cut:.0f} days (the median; n = {nl:,d}) improved by {ml:.2f} "
                "points on average, those followed for {cut:.0f} days or fewer (n = {ns:,d}) by {ms:.2f}: a "
                "difference of {diff:+.2f} points ({level:.0%} CI {lo:.2f} to {hi:.2f}; Welch's t test, p {p}). A "
                "change that kept growing with time without treatment would show as a positive difference, an effect "
                "that faded as a negative one; with one assessment per patient the two cannot be told apart.",
                "",
                cut=by_time["split_days"],
                nl=by_time["n_long"],
                ml=by_time["mean_change_long"],
                ns=by_time["n_short"],
                ms=by_time["mean_change_short"],
                diff=by_time["difference"],
                level=ci_level,
                lo=by_time["ci_low"],
                hi=by_time["ci_high"],
                p=format_p(by_time["p"]),
            )
        )
    if follow["n"] != 0 and by_time["reason"]:
        return _markdown("Short and long follow-up could not be compared: " + by_time["reason"] + ".")
    return None


def natural_course(months: float | None, follow: Mapping):
    """The natural course's observation period (``months``, from the benchmarks) against this cohort's
    median follow-up."""
    ratio = None if months is None or not follow["median"] else months * 365.25 / 12 / follow["median"]
    if "median" in follow[SUPPRESSED_KEY]:
        text = "This cohort's median follow-up is suppressed, so the natural course cannot be set against it."
    elif ratio is None:
        text = "Without the time between assessments, the natural course cannot be set against this cohort's change."
    elif ratio > 1:
        text = sentence(
            "That period is about {ratio:.1f} times this cohort's median follow-up: over this cohort's follow-up "
            "the natural course has had less time, and what happened after the second assessment is not in the "
            "data.",
            "",
            ratio=ratio,
        )
    else:
        text = sentence(
            "This cohort's median follow-up is {inv:.1f} times that period: long enough for the natural course, in "
            "which untreated PTSD remits, to account for part of the change.",
            "",
            inv=1 / ratio,
        )
    return _markdown(text)


def missing_data(itt: Mapping, mi: Mapping, missing: pd.DataFrame, outcome: Mapping, ci_level: float, min_cell: int):
    """The completers' figures against intention to treat and multiple imputation
    (:func:`ketamine_ptsd.analysis.limitations.missing_data_comparison`)."""
    if itt["n_dropouts"] == 0:
        return _markdown(
            "Every patient in this file has an assessment after treatment, so the three analyses agree: "
            "nothing is imputed. What the file cannot show is who never became a record: patients who stopped "
            "before a second assessment might not have been entered at all."
        )
    return _markdown(
        sentence(
            "Counting dropouts as unchanged moves the mean change from {comp:.2f} to {itt:.2f} points "
            "({pct:.0f}% of the completers' figure; {level:.0%} CI {lo:.2f} to {hi:.2f}) and d_av from {d:.2f} "
            "to {ditt:.2f}; multiple imputation gives {mi:.2f} points ({level:.0%} CI {mlo:.2f} to {mhi:.2f}; "
            "fraction of missing information {fmi:.2f}).",
            f"Some of these figures rest on fewer than {min_cell} patients and are suppressed; the table shows the "
            "others."
            if missing.attrs["suppressed"]
            else "With these data not every missing-data analysis could be computed; the table shows those that could.",
            comp=outcome["mean_change"],
            itt=itt["itt_mean_change"],
            pct=itt["itt_pct_of_completer_change"],
            level=ci_level,
            lo=itt["itt_ci_low"],
            hi=itt["itt_ci_high"],
            d=outcome["d_av"],
            ditt=missing.loc[1, "d_av"],
            mi=mi["mi_mean_change"],
            mlo=mi["mi_ci_low"],
            mhi=mi["mi_ci_high"],
            fmi=mi["fraction_missing_information"],
        )
    )


def representativeness(represent: pd.DataFrame):
    """Race and gender of the cohort beside the Osmind records
    (:func:`ketamine_ptsd.analysis.limitations.representativeness`), and what non-reporting leaves open."""
    by_char = represent.set_index("characteristic")
    white, women = by_char.loc["white"], by_char.loc["women"]
    lines = []
    if white["cohort_n_reported"] == 0:
        lines.append(
            "The data file reports no race or ethnicity, so nothing can be said about who the cohort "
            "represents in that respect."
        )
    else:
        lines.append(
            sentence(
                "Race or ethnicity is not reported for {unrep:.1f}% of patients. Among those who reported it, "
                "{v:.1f}% were white, so among all patients the white share could lie anywhere from {lo:.1f}% to "
                "{hi:.1f}%, a span of {span:.1f} percentage points that no increase in sample size narrows: only "
                "asking the patients who did not answer would.",
                "Race or ethnicity is too sparsely or too rarely reported here to give shares without identifying "
                "small groups.",
                unrep=white["cohort_pct_unreported"],
                v=white["cohort_value"],
                lo=white["cohort_all_low"],
                hi=white["cohort_all_high"],
                span=None if white["cohort_all_low"] is None else white["cohort_all_high"] - white["cohort_all_low"],
            )
        )
    lines.append(
        sentence(
            "Women were {v:.1f}% of patients reporting gender (Osmind records: {o:.0f}% female).",
            "The share of women cannot be given from these data.",
            v=women["cohort_value"],
            o=women["osmind_value"],
        )
    )
    lines.append(
        sentence(
            "The Osmind records were {o:.0f}% white. Both samples are patients who reached ketamine treatment and "
            "stayed in the records; neither says how it works for people unlike them.",
            "",
            o=white["osmind_value"],
        )
    )
    return _markdown(_join(lines))


def multiplicity(tests: pd.DataFrame, n_suppressed: int, contrast: Mapping, alpha: float, min_cell: int):
    """The family of moderator tests (:func:`ketamine_ptsd.analysis.limitations.multiplicity`), the tests
    the small-cell rule left out of it, and the psychotherapy contrast outside it."""
    from ketamine_ptsd.presentation.prose import format_p

    k, significant = tests.attrs["k"], tests.attrs["n_significant"]
    if k == 0:
        text = "The data allow no moderator test, so there is no family of tests to correct."
        if n_suppressed:
            text += f" Tests resting on a group of fewer than {min_cell} completers are suppressed."
        return _markdown(text)
    text = sentence(
        "The data allow {k:d} moderator tests. Were none of the moderators real and the tests independent, the "
        "chance of at least one p below {a:.2f} would be {fwer:.0f}%. Tests with p below {a:.2f}: {raw:d} of "
        "{k:d} before adjustment, {holm:d} after Holm's adjustment and {bonf:d} after Bonferroni's (which needs "
        "p below {thr:.4f}).",
        "",
        k=k,
        a=alpha,
        fwer=100 * tests.attrs["fwer_uncorrected"],
        raw=significant["raw"],
        holm=significant["holm"],
        bonf=significant["bonferroni"],
        thr=alpha / k,
    )
    if n_suppressed:
        text += (
            f" Another {n_suppressed:d} would rest on a group of fewer than {min_cell} completers: they "
            "are suppressed and left out of the family, as in the moderators chapter."
        )
    if contrast[SUPPRESSED_KEY]:
        text += (
            " The moderators chapter's two-sample t test of psychotherapy is suppressed here too: a group of "
            f"fewer than {min_cell} completers."
        )
    elif contrast["psychotherapy_p"] is not None:
        text += (
            " The moderators chapter also compares patients with and without psychotherapy in a two-sample "
            f"t test (p {format_p(contrast['psychotherapy_p'])}), a second test of the same question "
            "that is not in the family; the preprint's significant psychotherapy effect is one finding among "
            "several tests and would need a preregistered replication."
        )
    return _markdown(text)


def safety(per_patient: Mapping, per_infusion: Mapping | None, ci_level: float):
    """What a record of no serious adverse event could not exclude, per patient and per infusion
    (:func:`ketamine_ptsd.analysis.limitations.zero_event_upper_bound`)."""
    text = sentence(
        "Even if no serious adverse event occurred among these {n:,d} patients, the exact {level:.0%} interval "
        "{cite} for a rate with zero events reaches {up:.2g}% of patients: a record of none cannot exclude a "
        "serious harm in as many as one patient in {one:,.0f}.",
        "With no patients there is no denominator for any safety statement.",
        n=per_patient["n"],
        level=ci_level,
        cite="{cite:p}`clopper1934`",
        up=per_patient["upper_pct"],
        one=None if not per_patient["upper"] else 1 / per_patient["upper"],
    )
    if per_infusion and per_infusion["upper_pct"] is not None:
        text += sentence(
            " Per infusion ({m:,d} recorded), the bound is {up:.2g}%, though infusions of one patient are not "
            "independent.",
            "",
            m=per_infusion["n"],
            up=per_infusion["upper_pct"],
        )
    return _markdown(text)
