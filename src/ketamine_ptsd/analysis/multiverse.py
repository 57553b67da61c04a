"""The multiverse of definitions: every combination of the defensible choices, computed at once.

For each outcome (remission, clinically significant change, response, reliable improvement, the mean change
and its effect size) every option of every decision that applies to it is crossed with every other: its
definitions and thresholds (:data:`FAMILY_DECISION`), the entry restriction (every patient, or only those at
or above a baseline threshold), and the population (completers; intention to treat, dropouts counted as not
improved or unchanged; multiple imputation of the dropouts' ``pcl5_post`` from ``pcl5_pre``). Each
specification gives one estimate with an interval; sorted, they make a specification curve (Steegen et al.
2016; Simonsohn, Simmons & Nelson 2020). The decisions and their options are listed once, in
:data:`DECISIONS`, with their reasons; their values are the build's parameters.

Specifications that give the same result on a cohort (intention to treat without dropouts, a threshold every
patient passes, two reliabilities that classify the same patients) are kept in the table, marked
``duplicate_of`` the first of them, and counted once in every share and summary.

Every definition is :mod:`.outcomes`' and every effect size :mod:`.effects`'; the imputations are the
limitations chapter's (:func:`~ketamine_ptsd.analysis.limitations.imputed_post_scores`, pooled by
:func:`~ketamine_ptsd.analysis.limitations.rubin_combine`). :mod:`.specification_curve` tests the mean change
and its effect sizes jointly under the null of no change (Simonsohn et al. 2020).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ketamine_ptsd.analysis import effects, outcomes
from ketamine_ptsd.analysis.limitations import imputed_post_scores, rubin_combine
from ketamine_ptsd.analysis.privacy import hidden_rows, suppress_cells, too_few

#: Outcome families in the order the chapter shows them, with the unit of their estimate.
FAMILIES = {
    "remission": "% of patients",
    "clinically_significant": "% of patients",
    "response": "% of patients",
    "reliable_improvement": "% of patients",
    "mean_change": "PCL-5 points",
    "effect_size": "standardised mean change",
}
#: How each population is written in the table and the figures.
POPULATIONS = {
    "completers": "completers",
    "itt": "ITT (dropouts not improved)",
    "mi": "multiple imputation",
}
#: Every decision of the multiverse: what it chooses and why its options are defensible.
DECISIONS = {
    "population": "who is analysed: completers; every patient with dropouts as not improved (intention to treat); "
    "or every patient with the dropouts' scores imputed",
    "entry_threshold": "every patient, or only those at or above a baseline total (probable PTSD at entry, "
    "Bovin et al. 2016): the study's own entry rule is not published",
    "remission_cutoff": "remission: pcl5_post below each probable-PTSD cutoff in use (31-33, Bovin et al. 2016)",
    "clinically_significant_definition": "a drop of each clinically significant size (NCPTSD guidance: 10-20 "
    "points), or Marx et al.'s (2022) combined criterion (reliable change and an end score)",
    "response_fraction": "response: a drop of each fraction of baseline in use (30%: Feder et al. 2021; 50%)",
    "reliable_change_definition": "the reliable change index (Jacobson & Truax 1991) at each test-retest r "
    "(Blevins et al. 2015; Bovin et al. 2016) and each SD (the completers' own, or a normative one), or Marx "
    "et al.'s (2022) reliable change in points",
    "baseline_adjusted": "the mean change as observed, or as expected at the whole file's mean baseline (a "
    "regression of change on baseline), which matters when the entry restriction shifts the baseline",
    "effect_size": "d_av (the paper's d), d_z, and d_av with Hedges' small-sample correction (Hedges 1981)",
}
#: The decision each family varies besides the entry restriction and the population.
FAMILY_DECISION = {
    "remission": "remission_cutoff",
    "clinically_significant": "clinically_significant_definition",
    "response": "response_fraction",
    "reliable_improvement": "reliable_change_definition",
    "mean_change": "baseline_adjusted",
    "effect_size": "effect_size",
}
#: Effect sizes of the effect-size family.
EFFECT_SIZES = ("d_av", "d_z", "g_av")
#: The paper's statements as thresholds on a family's estimate (the press coverage of MacConnel et al.
#: 2024): "over 60% remitted", "75% improved significantly", "a large effect" (Cohen's convention).
LARGE_EFFECT = 0.8
STATEMENTS = {
    "remission": ("over 60% remitted", 60.0, lambda x: x > 60),
    "clinically_significant": ("75% improved significantly", 75.0, lambda x: x >= 75),
    "effect_size": ("a large effect", LARGE_EFFECT, lambda x: x >= LARGE_EFFECT),
}
#: Name of each family's estimate in the summary keys (``multiverse_<name>_min`` ...).
SUMMARY_NAMES = {
    "remission": "remission_pct",
    "clinically_significant": "clinically_significant_pct",
    "response": "response_pct",
    "reliable_improvement": "reliable_improvement_pct",
    "mean_change": "mean_change",
    "effect_size": "d",
}
#: Table columns, in order: the decisions, then the sample, the count and the estimate with its interval.
COLUMNS = (
    "family",
    "population",
    "entry_threshold",
    "remission_cutoff",
    "mcid",
    "response_fraction",
    "reliability",
    "rci_sd",
    "baseline_adjusted",
    "effect_size",
    "definition",
    "n",
    "k",
    "estimate",
    "ci_low",
    "ci_high",
    "suppressed",
    "duplicate_of",
)
#: The cells of a suppressed row that are hidden: its count and what is computed from its patients.
HIDDEN = ("k", "estimate", "ci_low", "ci_high")


def _clopper_pearson(k: np.ndarray, n: int, ci_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact binomial interval of k successes in n, in percent, for an array of k."""
    a = 1 - ci_level
    k = np.asarray(k, dtype=float)
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, stats.beta.ppf(a / 2, k, n - k + 1), 0.0)
        high = np.where(k < n, stats.beta.ppf(1 - a / 2, k + 1, n - k), 1.0)
    return 100 * low, 100 * high


def hedges_j(df: float) -> float:
    """Hedges' exact small-sample correction ``Gamma(df/2) / (sqrt(df/2) Gamma((df-1)/2))`` (Hedges 1981).

    >>> round(hedges_j(10), 4), round(1 - 3 / (4 * 10 - 1), 4)  # exact, and Hedges' approximation
    (0.9227, 0.9231)
    """
    return math.exp(special.gammaln(df / 2) - special.gammaln((df - 1) / 2)) / math.sqrt(df / 2)


def _options(family: str, p: dict) -> list[tuple[str, dict, object]]:
    """(definition in words, the decision's columns, what to compute) for each option of a family.

    ``p`` holds the build's parameters. For a share family the last item is a function of (change, pre,
    post, sd_pre) giving who meets the definition; for the mean change whether it is baseline-adjusted; for
    the effect size its name.
    """
    if family == "remission":
        return [(f"pcl5_post < {c:g}", {"remission_cutoff": c}, lambda ch, pre, post, sd, c=c: outcomes.remission(post, c))
                for c in p["remission_cutoffs"]]  # fmt: skip
    if family == "clinically_significant":
        out = [
            (f"change >= {m:g}", {"mcid": m}, lambda ch, pre, post, sd, m=m: outcomes.clinically_significant(ch, m))
            for m in p["mcids"]
        ]
        points, end = p["marx_reliable_change"], p["marx_end_score"]
        out.append(
            (
                f"change >= {points:g} and pcl5_post <= {end:g} (Marx et al. 2022)",
                {"mcid": points},
                lambda ch, pre, post, sd: outcomes.clinically_significant_marx(ch, post, points, end),
            )
        )
        return out
    if family == "response":
        return [(f"change >= {f:.0%} of pcl5_pre", {"response_fraction": f},
                 lambda ch, pre, post, sd, f=f: outcomes.response(ch, pre, f)) for f in p["response_fractions"]]  # fmt: skip
    if family == "reliable_improvement":
        sds = [None] if p["rci_sd"] is None else [None, p["rci_sd"]]
        out = []
        for r, given in itertools.product(p["reliabilities"], sds):
            whose = "completers' SD" if given is None else f"SD {given:g}"

            def met(ch, pre, post, sd, r=r, given=given):
                return outcomes.reliable_improvement(ch, outcomes.reliable_change_threshold(given or sd, r))

            out.append((f"change > RCI (r = {r:.2f}, {whose})", {"reliability": r, "rci_sd": given}, met))
        points = p["marx_reliable_change"]
        out.append(
            (
                f"change >= {points:g} (Marx et al. 2022)",
                {"mcid": points},
                lambda ch, pre, post, sd: outcomes.reliable_change_marx(ch, points),
            )
        )
        return out
    if family == "mean_change":
        return [("mean change", {"baseline_adjusted": False}, False),
                ("mean change at the file's mean baseline", {"baseline_adjusted": True}, True)]  # fmt: skip
    return [(name, {"effect_size": name}, name) for name in EFFECT_SIZES]


def _shares(met_c: np.ndarray, met_mi: np.ndarray | None, n_c: int, n_all: int, ci_level: float) -> dict:
    """Completers' and intention-to-treat shares (exact intervals) and the imputed share (Rubin), in percent."""
    k = int(met_c.sum())
    out = {}
    for population, n in (("completers", n_c), ("itt", n_all)):
        low, high = _clopper_pearson(k, n, ci_level) if n else (np.nan, np.nan)
        out[population] = {
            "n": n,
            "k": k,
            "estimate": 100 * k / n if n else None,
            "ci_low": float(low),
            "ci_high": float(high),
        }
    if met_mi is not None:
        p = (k + met_mi.sum(axis=1)) / n_all  # one share per imputed data set
        pooled = rubin_combine(p, p * (1 - p) / n_all, df_complete=n_all - 1, ci_level=ci_level)
        out["mi"] = {"n": n_all, "k": None, **{key: 100 * pooled[key] for key in ("estimate", "ci_low", "ci_high")}}
    return out


def _mean_change(change: np.ndarray, pre: np.ndarray, adjusted: bool, centre: float, ci_level: float) -> dict:
    """Mean change with its t interval, or the change expected at baseline ``centre`` (the intercept of
    ``change ~ pcl5_pre - centre``) with its interval."""
    n = change.size
    if n < 3 or change.std(ddof=1) == 0:
        return {"estimate": None, "ci_low": None, "ci_high": None}
    if not adjusted:
        low, high = effects.t_interval(float(change.mean()), float(change.std(ddof=1) / math.sqrt(n)), n - 1, ci_level)
        return {"estimate": float(change.mean()), "ci_low": low, "ci_high": high}
    if np.ptp(pre) == 0:  # one baseline for all: no slope to adjust with
        return {"estimate": None, "ci_low": None, "ci_high": None}
    X = np.column_stack([np.ones(n), pre - centre])
    coef, *_ = np.linalg.lstsq(X, change, rcond=None)
    resid = change - X @ coef
    se = math.sqrt(float(resid @ resid) / (n - 2) * np.linalg.inv(X.T @ X)[0, 0])
    low, high = effects.t_interval(float(coef[0]), se, n - 2, ci_level)
    return {"estimate": float(coef[0]), "ci_low": low, "ci_high": high}


def _effect_sizes(pre: np.ndarray, post: np.ndarray, ci_level: float) -> dict[str, dict]:
    """d_av, d_z and g_av of paired scores with noncentral-t intervals (as the primary outcome's)."""
    n = pre.size
    change = pre - post
    if n < 3 or change.std(ddof=1) == 0:
        return {e: {"estimate": None, "ci_low": None, "ci_high": None} for e in EFFECT_SIZES}
    d_z = float(effects.d_z(change.mean(), change.std(ddof=1)))
    d_av = float(effects.d_av(change.mean(), pre.std(ddof=1), post.std(ddof=1)))
    sizes = {"d_av": d_av, "d_z": d_z, "g_av": hedges_j(n - 1) * d_av}
    # A finite t (the change varies) on at least 2 df: the interval always exists.
    lo, hi = effects.noncentral_t_ci(d_z * math.sqrt(n), n - 1, ci_level)
    # d_av and g_av are d_z rescaled: carry the d_z interval over (Algina & Keselman 2003).
    return {
        name: {
            "estimate": sizes[name],
            "ci_low": lo / math.sqrt(n) * sizes[name] / d_z,
            "ci_high": hi / math.sqrt(n) * sizes[name] / d_z,
        }
        for name in EFFECT_SIZES
    }


def _moments(fixed: np.ndarray, imputed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (n - 1) of ``fixed`` joined to each row of ``imputed``, from sums: no copy of the
    whole cohort per imputed data set. Shifting by the fixed values' mean keeps the sums of squares small."""
    shift = fixed.mean()
    a, b = fixed - shift, imputed - shift
    n = a.size + b.shape[1]
    total = a.sum() + b.sum(axis=1)
    squares = (a * a).sum() + (b * b).sum(axis=1)
    return total / n + shift, (squares - total * total / n) / (n - 1)


def _mi_continuous(pre: np.ndarray, post: np.ndarray, imputed: np.ndarray, ci_level: float) -> dict[str, dict]:
    """Mean change and effect sizes over the imputed data sets (``imputed``: one row of the dropouts'
    ``pcl5_post`` per set), pooled by Rubin's rules.

    A data set's variance of the mean change is ``s^2 / n``, of d_z the large-sample ``1/n + d_z^2 / (2n)``;
    d_av and g_av carry it over with their ratio to d_z, as their intervals do.
    """
    n, done = pre.size, ~np.isnan(post)
    mean, var_change = _moments(pre[done] - post[done], pre[~done] - imputed)
    _, var_post = _moments(post[done], imputed)
    empty = {"estimate": None, "ci_low": None, "ci_high": None}
    if n < 3 or np.any(var_change <= 0):
        return {name: empty for name in ("mean_change", *EFFECT_SIZES)}
    d_z = effects.d_z(mean, np.sqrt(var_change))
    d_av = effects.d_av(mean, pre.std(ddof=1), np.sqrt(var_post))
    sets = {"mean_change": (mean, var_change / n), "d_z": (d_z, None), "d_av": (d_av, None)}
    sets["g_av"] = (hedges_j(n - 1) * d_av, None)
    out = {}
    for name, (est, var) in sets.items():
        if var is None:
            var = (1 / n + d_z**2 / (2 * n)) * (est / d_z) ** 2
        pooled = rubin_combine(est, var, df_complete=n - 1, ci_level=ci_level)
        out[name] = {key: pooled[key] for key in ("estimate", "ci_low", "ci_high")}
    return out


def _specifications(pre_all, post_all, threshold, p, centre) -> list[dict]:
    """Every specification of one entry restriction (patients with ``pcl5_pre >= threshold``), unsuppressed."""
    keep = pre_all >= threshold
    pre_s, post_s = pre_all[keep], post_all[keep]
    done = ~np.isnan(post_s)
    pre, post = pre_s[done], post_s[done]
    change = pre - post
    n_c, n_all = int(done.sum()), int(pre_s.size)
    n_d = n_all - n_c
    sd_pre = float(pre.std(ddof=1)) if n_c > 1 else math.nan
    imputed = imputed_post_scores(pre_s, post_s, p["mi_imputations"], p["mi_seed"]) if n_d and n_c else None
    populations = ["completers", *(["itt"] if n_d else []), *(["mi"] if imputed is not None else [])]
    rows = []

    def add(family, definition, columns, population, values, sizes, observed=None):
        rows.append(
            {
                "family": family,
                "population": population,
                "entry_threshold": threshold,
                "definition": definition,
                **columns,
                **values,
                "_sizes": sizes,
                "_observed": observed,
            }
        )

    for family in ("remission", "clinically_significant", "response", "reliable_improvement"):
        for definition, columns, met in _options(family, p):
            met_c = met(change, pre, post, sd_pre)
            met_mi = None
            if imputed is not None:
                dropped = pre_s[~done]
                met_mi = met(dropped - imputed, dropped, imputed, sd_pre)
            shares = _shares(met_c, met_mi, n_c, n_all, p["ci_level"])
            for population in populations:
                sizes = {"completers": (n_c,), "itt": (n_c, n_all), "mi": (n_c, n_d)}[population]
                observed = int(met_c.sum()) if population == "mi" else None
                add(family, definition, columns, population, shares[population], sizes, observed)
    itt_post = np.where(done, post_s, pre_s)  # dropouts unchanged
    continuous = {"completers": (pre, post), "itt": (pre_s, itt_post)}
    mi = _mi_continuous(pre_s, post_s, imputed, p["ci_level"]) if imputed is not None else None
    for population in populations:
        n = n_c if population == "completers" else n_all
        sizes = {"completers": (n_c,), "itt": (n_c, n_all), "mi": (n_c, n_d)}[population]
        effect_rows = None
        if population != "mi":
            x, y = continuous[population]
            effect_rows = _effect_sizes(x, y, p["ci_level"])
        for definition, columns, adjusted in _options("mean_change", p):
            if population == "mi":
                if adjusted:
                    continue  # the adjustment is fitted on observed scores: not defined for imputed ones
                values = mi["mean_change"]
            else:
                x, y = continuous[population]
                values = _mean_change(x - y, x, adjusted, centre, p["ci_level"])
            add("mean_change", definition, columns, population, {"n": n, "k": None, **values}, sizes)
        for definition, columns, name in _options("effect_size", p):
            values = mi[name] if population == "mi" else effect_rows[name]
            add("effect_size", definition, columns, population, {"n": n, "k": None, **values}, sizes)
    return rows


def _mark_duplicates(table: pd.DataFrame) -> list[int | None]:
    """For each row, the index of the first row of its family with the same result (None for that first
    row, a row with nothing computed, and a suppressed row): the same count, estimate and interval to ten
    significant digits."""

    def rounded(v):
        return None if v is None or pd.isna(v) else float(f"{float(v):.10g}")

    first: dict = {}
    out: list[int | None] = []
    for i, row in enumerate(table.itertuples()):
        key = (row.family, rounded(row.estimate), rounded(row.ci_low), rounded(row.ci_high), rounded(row.k))
        if key[1] is None or row.suppressed:
            out.append(None)
            continue
        j = first.setdefault(key, i)
        out.append(None if j == i else j)
    return out


def multiverse(
    cohort: pd.DataFrame,
    *,
    remission_cutoffs: Sequence[float],
    mcids: Sequence[float],
    response_fractions: Sequence[float],
    reliabilities: Sequence[float],
    entry_thresholds: Sequence[float],
    rci_sd: float | None,
    marx_reliable_change: float,
    marx_end_score: float,
    mi_imputations: int,
    mi_seed: int,
    ci_level: float,
    min_cell: int,
) -> pd.DataFrame:
    """Every specification of every outcome family, one row each, in :data:`COLUMNS`.

    Each family's options (:func:`_options`) are crossed with every entry threshold (0: every patient) and
    every population. Shares are percentages of the completers (``n`` = completers) or of every patient
    (intention to treat: dropouts count as not meeting the definition), with exact Clopper-Pearson
    intervals; imputation rows pool each data set's share (variance ``p (1 - p) / n``), mean change or d by
    Rubin's rules with Barnard-Rubin df, and have no count ``k``. The reliable change threshold uses the
    completers' SD of ``pcl5_pre`` of the analysed patients, or ``rci_sd``. The mean change and effect sizes
    take dropouts as unchanged under intention to treat; the baseline-adjusted mean change is the change
    expected at the mean ``pcl5_pre`` of every patient in the file.

    ``duplicate_of`` names the first row of the same family with the same result (:func:`_mark_duplicates`).
    The small-cell rule: a row is ``suppressed`` when its count ``k`` or the patients it rests on (the
    completers; under intention to treat also all patients; under imputation the completers, the imputed
    dropouts and the completers meeting the definition) are 1 to ``min_cell - 1``; its cells of
    :data:`HIDDEN` are then None and listed in ``attrs["suppressed"]``.
    """
    pre_all = pd.to_numeric(cohort["pcl5_pre"]).to_numpy(dtype="float64", na_value=np.nan)
    post_all = pd.to_numeric(cohort["pcl5_post"]).to_numpy(dtype="float64", na_value=np.nan)
    keep = ~np.isnan(pre_all)
    pre_all, post_all = pre_all[keep], post_all[keep]
    p = {
        "remission_cutoffs": list(remission_cutoffs),
        "mcids": list(mcids),
        "response_fractions": list(response_fractions),
        "reliabilities": list(reliabilities),
        "rci_sd": rci_sd,
        "marx_reliable_change": marx_reliable_change,
        "marx_end_score": marx_end_score,
        "mi_imputations": mi_imputations,
        "mi_seed": mi_seed,
        "ci_level": ci_level,
    }
    centre = float(pre_all.mean()) if pre_all.size else math.nan
    rows = [row for t in entry_thresholds for row in _specifications(pre_all, post_all, t, p, centre)]
    order = {family: i for i, family in enumerate(FAMILIES)}
    rows.sort(key=lambda row: order[row["family"]])  # stable: each family's rows keep their crossing order
    for row in rows:
        sizes, observed, k = row.pop("_sizes"), row.pop("_observed"), row.get("k")
        row["suppressed"] = bool(min_cell) and (
            any(too_few(s, min_cell) for s in sizes)
            or (k is not None and too_few(int(k), min_cell))
            or (observed is not None and too_few(observed, min_cell))
        )
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    table["k"] = table["k"].astype("Int64")
    table["duplicate_of"] = pd.array(_mark_duplicates(table), dtype="Int64")
    return suppress_cells(table, {}, min_cell, hidden_rows(table["suppressed"], HIDDEN))


def distinct(table: pd.DataFrame) -> pd.DataFrame:
    """The specifications that give a result of their own: no duplicate of an earlier one."""
    return table[table["duplicate_of"].isna()]


def collapsed(table: pd.DataFrame) -> list[dict]:
    """Which decisions' options gave the same results, and how often: one row per decision with
    ``n_specifications`` that duplicate a row differing from them in that decision's column alone."""
    counts: dict[str, int] = {}
    for i, j in table["duplicate_of"].dropna().astype(int).items():
        a, b = table.loc[i], table.loc[j]
        differ = [col for col in ("population", "entry_threshold", "definition") if a[col] != b[col]]
        decision = differ[0] if len(differ) == 1 else "several at once"
        if decision == "definition":
            decision = FAMILY_DECISION[a["family"]]
        counts[decision] = counts.get(decision, 0) + 1
    return [{"decision": decision, "n_specifications": n} for decision, n in counts.items()]


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    rows = distinct(table)
    return rows[~rows["suppressed"].astype(bool) & rows["estimate"].notna()]


def _range(values: pd.Series) -> float:
    """Largest minus smallest, with differences in the last digits (the same value computed two ways) as 0."""
    span = float(values.max() - values.min())
    return 0.0 if span <= 1e-9 * max(1.0, float(values.abs().max())) else span


def influence(table: pd.DataFrame) -> pd.DataFrame:
    """How far each decision moves each family's estimate: over every combination of the other decisions,
    the range of the estimate across this decision's options; the median and largest of those ranges.

    Rows ``family``, ``decision``, ``median_range``, ``max_range`` (in the family's unit), over the rows the
    small-cell rule leaves shown (duplicates included: holding the others fixed needs every option).
    """
    shown = table[~table["suppressed"].astype(bool) & table["estimate"].notna()]
    out = []
    for family, rows in shown.groupby("family", sort=False):
        for decision, column in (("population", "population"), ("entry_threshold", "entry_threshold"),
                                 (FAMILY_DECISION[family], "definition")):  # fmt: skip
            others = [c for c in ("population", "entry_threshold", "definition") if c != column]
            spans = rows.groupby(others, dropna=False)["estimate"].agg(
                lambda e: _range(e.astype(float)) if len(e) > 1 else np.nan
            )
            spans = spans.dropna()
            if spans.empty:
                continue
            out.append(
                {
                    "family": family,
                    "decision": decision,
                    "median_range": float(spans.median()),
                    "max_range": float(spans.max()),
                }
            )
    return pd.DataFrame(out, columns=["family", "decision", "median_range", "max_range"])


def summary(table: pd.DataFrame) -> dict:
    """The multiverse in a few numbers, over the distinct specifications the small-cell rule leaves shown.

    ``multiverse_n_specifications`` (every crossed specification), ``multiverse_n_distinct`` (counted once
    when several give the same result), ``multiverse_n_shown`` (every specification the small-cell rule
    leaves shown), ``multiverse_n_distinct_shown``, and per family
    ``multiverse_<family>_n_specifications``; per family (name from :data:`SUMMARY_NAMES`)
    ``multiverse_<name>_min``/``_median``/``_max`` over completers and intention to treat; for the paper's
    statements (:data:`STATEMENTS`) the percentage of the family's specifications, in every population, in
    which it holds (``multiverse_share_remission_over_60``, ``multiverse_share_clinically_significant_75``,
    ``multiverse_share_large_effect``) and how many of the others have an interval that reaches the
    statement's threshold (``..._n_within_interval``); ``multiverse_most_influential_decision``, per family
    the decision with the largest median range (:func:`influence`). A value with no shown row to rest on is
    None and named under ``suppressed`` when rows were hidden.
    """
    shown = _shown(table)
    hidden_any = table["suppressed"].astype(bool)
    out: dict = {
        "multiverse_n_specifications": len(table),
        "multiverse_n_distinct": len(distinct(table)),
        "multiverse_n_shown": int((~table["suppressed"].astype(bool)).sum()),
        "multiverse_n_distinct_shown": len(shown),
        "suppressed": [],
    }
    for family, name in SUMMARY_NAMES.items():
        out[f"multiverse_{family}_n_specifications"] = int((table["family"] == family).sum())
        rows = shown[(shown["family"] == family) & shown["population"].isin(["completers", "itt"])]
        values = rows["estimate"].astype(float)
        for stat, fn in (("min", np.min), ("median", np.median), ("max", np.max)):
            key = f"multiverse_{name}_{stat}"
            out[key] = float(fn(values)) if len(values) else None
            if out[key] is None and hidden_any[table["family"] == family].any():
                out["suppressed"].append(key)
    shares = {
        "remission": "multiverse_share_remission_over_60",
        "clinically_significant": "multiverse_share_clinically_significant_75",
        "effect_size": "multiverse_share_large_effect",
    }
    for family, key in shares.items():
        _, threshold, holds = STATEMENTS[family]
        rows = shown[shown["family"] == family]
        met = np.array([holds(float(v)) for v in rows["estimate"]], dtype=bool)
        out[key] = float(100 * met.mean()) if len(rows) else None
        # An interval that reaches the threshold cannot tell the estimate from the statement.
        out[key + "_n_within_interval"] = (
            int((rows.loc[~met, "ci_high"].astype(float) >= threshold).sum()) if len(rows) else None
        )
        for k in (key, key + "_n_within_interval"):
            if out[k] is None and hidden_any[table["family"] == family].any():
                out["suppressed"].append(k)
    # The first of equal ranges in influence()'s order (population, entry restriction, definition) wins.
    out["multiverse_most_influential_decision"] = {
        family: rows.loc[rows["median_range"].idxmax(), "decision"]
        for family, rows in influence(table).groupby("family", sort=False)
        if rows["median_range"].max() > 0
    }
    return out
