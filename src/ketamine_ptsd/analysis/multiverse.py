"""The multiverse of definitions: every defensible way to state the headline, computed at once.

A specification is one outcome family (remission, clinically significant change, response, reliable
improvement, effect size), one definition inside it (a cutoff, a change threshold, a response fraction, a
reliability, a kind of d) and one population (completers; intention to treat with dropouts counted as not
improved; multiple imputation of the dropouts' ``pcl5_post`` from ``pcl5_pre``). Each gives one estimate with
an interval; sorted, they make a specification curve (Steegen et al. 2016; Simonsohn, Simmons & Nelson
2020).

Counts come from sorted arrays (``searchsorted`` over each grid of thresholds) or from broadcasting the
grid against the patients, never from a loop over patients or a re-run of a chapter; the definitions are
the data contract's (:func:`ketamine_ptsd.analysis.stats.clinical_significance`), the reliable change
threshold is :func:`~ketamine_ptsd.analysis.stats.reliable_change_threshold` on the completers' SD of
``pcl5_pre``, the imputations are those of the limitations chapter
(:func:`~ketamine_ptsd.analysis.limitations.imputed_post_scores`, pooled by
:func:`~ketamine_ptsd.analysis.limitations.rubin_combine`).

Every specification needs only ``pcl5_pre`` and ``pcl5_post``: no optional column of the data contract
rules one out. Without dropouts, intention to treat equals the completers and there is nothing to impute,
so the imputation rows are left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ketamine_ptsd.analysis import outcomes
from ketamine_ptsd.analysis.effects import noncentral_t_ci
from ketamine_ptsd.analysis.limitations import imputed_post_scores, rubin_combine
from ketamine_ptsd.analysis.outcomes import reliable_change_threshold
from ketamine_ptsd.analysis.privacy import hidden_rows, suppress_cells, too_few

#: Outcome families in the order the chapter shows them, with the unit of their estimate.
FAMILIES = {
    "remission": "% of patients",
    "clinically_significant": "% of patients",
    "response": "% of patients",
    "reliable_improvement": "% of patients",
    "effect_size": "standardised mean change",
}
#: How each population is written in the table and the figures.
POPULATIONS = {
    "completers": "completers",
    "itt": "ITT (dropouts not improved)",
    "mi": "multiple imputation",
}
#: Effect sizes of the effect-size family: the paper's d (d_av), d_z, and d_av with Hedges' correction.
EFFECT_SIZES = ("d_av", "d_z", "g_av")
#: The paper's statements as thresholds on a family's estimate (the press coverage of MacConnel et al.
#: 2024): "over 60% remitted", "75% improved significantly", "a large effect" (Cohen's convention).
LARGE_EFFECT = 0.8
STATEMENTS = {
    "remission": ("over 60% remitted", lambda x: x > 60),
    "clinically_significant": ("75% improved significantly", lambda x: x >= 75),
    "effect_size": ("a large effect", lambda x: x >= LARGE_EFFECT),
}
#: Name of each family's estimate in the summary keys (``multiverse_<name>_min`` ...).
SUMMARY_NAMES = {
    "remission": "remission_pct",
    "clinically_significant": "clinically_significant_pct",
    "response": "response_pct",
    "reliable_improvement": "reliable_improvement_pct",
    "effect_size": "d",
}
#: Table columns, in order: the choices, then the sample, the count and the estimate with its interval.
COLUMNS = (
    "family",
    "population",
    "remission_cutoff",
    "mcid",
    "response_fraction",
    "reliability",
    "effect_size",
    "definition",
    "n",
    "k",
    "estimate",
    "ci_low",
    "ci_high",
    "suppressed",
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


def _effect_sizes(pre: np.ndarray, post: np.ndarray) -> dict[str, float] | None:
    """d_av, d_z and g_av of paired scores (None when they cannot be computed)."""
    n = pre.size
    change = pre - post
    if n < 3 or change.std(ddof=1) == 0:
        return None
    mean, sd_change = change.mean(), change.std(ddof=1)
    sd_av = math.sqrt((pre.var(ddof=1) + post.var(ddof=1)) / 2)
    d_av = mean / sd_av
    return {"d_av": d_av, "d_z": mean / sd_change, "g_av": hedges_j(n - 1) * d_av}


def _effect_rows(pre: np.ndarray, post: np.ndarray, ci_level: float) -> list[dict]:
    """The three effect sizes of one population with noncentral-t intervals (as the primary outcome's)."""
    sizes = _effect_sizes(pre, post)
    if sizes is None:
        return [{"effect_size": e, "estimate": None, "ci_low": None, "ci_high": None} for e in EFFECT_SIZES]
    n = pre.size
    lo, hi = noncentral_t_ci(sizes["d_z"] * math.sqrt(n), n - 1, ci_level)
    rows = []
    for name in EFFECT_SIZES:
        # d_av and g_av are d_z rescaled: carry the d_z interval over (Algina & Keselman 2003).
        scale = sizes[name] / sizes["d_z"]
        rows.append(
            {
                "effect_size": name,
                "estimate": sizes[name],
                "ci_low": None if lo is None else lo / math.sqrt(n) * scale,
                "ci_high": None if hi is None else hi / math.sqrt(n) * scale,
            }
        )
    return rows


def _moments(fixed: np.ndarray, imputed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and variance (n - 1) of ``fixed`` joined to each row of ``imputed``, from sums: no copy of the
    whole cohort per imputed data set. Shifting by the fixed values' mean keeps the sums of squares small."""
    shift = fixed.mean()
    a, b = fixed - shift, imputed - shift
    n = a.size + b.shape[1]
    total = a.sum() + b.sum(axis=1)
    squares = (a * a).sum() + (b * b).sum(axis=1)
    return total / n + shift, (squares - total * total / n) / (n - 1)


def _mi_effect_rows(pre: np.ndarray, post: np.ndarray, imputed: np.ndarray, ci_level: float) -> list[dict]:
    """Effect sizes over the imputed data sets (``imputed``: one row of the dropouts' ``pcl5_post`` per set),
    pooled by Rubin's rules.

    Each data set's variance of d_z is the large-sample ``1/n + d_z^2 / (2n)``; d_av and g_av carry it
    over with their ratio to d_z, as their intervals do.
    """
    n, done = pre.size, ~np.isnan(post)
    mean, var_change = _moments(pre[done] - post[done], pre[~done] - imputed)
    _, var_post = _moments(post[done], imputed)
    if n < 3 or np.any(var_change <= 0):
        return [{"effect_size": e, "estimate": None, "ci_low": None, "ci_high": None} for e in EFFECT_SIZES]
    d_z = mean / np.sqrt(var_change)
    d_av = mean / np.sqrt((pre.var(ddof=1) + var_post) / 2)
    sets = {"d_av": d_av, "d_z": d_z, "g_av": hedges_j(n - 1) * d_av}
    rows = []
    for name in EFFECT_SIZES:
        est = sets[name]
        var = (1 / n + d_z**2 / (2 * n)) * (est / d_z) ** 2
        pooled = rubin_combine(est, var, df_complete=n - 1, ci_level=ci_level)
        rows.append(
            {
                "effect_size": name,
                "estimate": pooled["estimate"],
                "ci_low": pooled["ci_low"],
                "ci_high": pooled["ci_high"],
            }
        )
    return rows


def _share_rows(met: np.ndarray, n: int, ci_level: float) -> dict[str, np.ndarray]:
    """Counts meeting each definition (``met``, one per grid value) as percentages of n with exact intervals."""
    low, high = _clopper_pearson(met, n, ci_level)
    return {"k": met, "estimate": 100 * met / n, "ci_low": low, "ci_high": high}


def _counts(pre: np.ndarray, post: np.ndarray, grids: dict, rci: dict) -> dict[str, np.ndarray]:
    """Patients meeting each definition of each family (:mod:`.outcomes`), for scores whose rows may be
    several data sets: ``pre`` and ``post`` have the patients in their last axis; the result has the grid in
    its last axis."""
    change, pre, post = (x[..., :, None] for x in (pre - post, pre, post))

    def grid(name):
        return np.asarray(grids[name], dtype=float)

    return {
        "remission": outcomes.remission(post, grid("remission_cutoff")).sum(axis=-2),
        "clinically_significant": outcomes.clinically_significant(change, grid("mcid")).sum(axis=-2),
        "response": outcomes.response(change, pre, grid("response_fraction")).sum(axis=-2),
        "reliable_improvement": outcomes.reliable_improvement(
            change, np.array([rci[r] for r in grids["reliability"]])
        ).sum(axis=-2),
    }


#: The parameter each non-effect family varies.
CHOICE = {
    "remission": "remission_cutoff",
    "clinically_significant": "mcid",
    "response": "response_fraction",
    "reliable_improvement": "reliability",
}


def _definition(family: str, value) -> str:
    return {
        "remission": lambda v: f"pcl5_post < {v:g}",
        "clinically_significant": lambda v: f"change >= {v:g}",
        "response": lambda v: f"change >= {v:.0%} of pcl5_pre",
        "reliable_improvement": lambda v: f"change > RCI (r = {v:.2f})",
        "effect_size": lambda v: v,
    }[family](value)


def multiverse(
    cohort: pd.DataFrame,
    *,
    remission_cutoffs: Sequence[float],
    mcids: Sequence[float],
    response_fractions: Sequence[float],
    reliabilities: Sequence[float],
    mi_imputations: int,
    mi_seed: int,
    ci_level: float,
    min_cell: int,
) -> pd.DataFrame:
    """Every specification of every outcome family, one row each, in :data:`COLUMNS`.

    Shares are percentages of the completers (``n`` = completers) or of every patient (intention to
    treat: dropouts count as not meeting the definition), with exact Clopper-Pearson intervals; the
    imputation rows pool each data set's share (variance ``p (1 - p) / n``) or d by Rubin's rules with
    Barnard-Rubin df, and have no count ``k``. The reliable change threshold is the contract's, from the
    completers' SD of ``pcl5_pre``, in every population. Effect sizes: d_av (the paper's d), d_z and g_av
    (d_av times Hedges' exact correction), with the primary outcome's noncentral-t intervals; dropouts
    enter intention to treat with ``pcl5_post`` equal to ``pcl5_pre``.

    The small-cell rule: a row is ``suppressed`` when its count ``k`` or the patients it rests on (the
    completers; under intention to treat also all patients; under imputation the completers, the imputed
    dropouts and the completers meeting the definition) are 1 to ``min_cell - 1``; its cells of :data:`HIDDEN` are then None and listed in
    ``attrs["suppressed"]`` (:func:`ketamine_ptsd.analysis.privacy.suppress_cells`).
    """
    pre_all = pd.to_numeric(cohort["pcl5_pre"]).to_numpy(dtype="float64", na_value=np.nan)
    post_all = pd.to_numeric(cohort["pcl5_post"]).to_numpy(dtype="float64", na_value=np.nan)
    keep = ~np.isnan(pre_all)
    pre_all, post_all = pre_all[keep], post_all[keep]
    done = ~np.isnan(post_all)
    pre, post = pre_all[done], post_all[done]
    n_c, n_all = int(done.sum()), int(pre_all.size)
    n_d = n_all - n_c
    grids = {
        "remission_cutoff": list(remission_cutoffs),
        "mcid": list(mcids),
        "response_fraction": list(response_fractions),
        "reliability": list(reliabilities),
    }
    sd_pre = pre.std(ddof=1) if n_c > 1 else math.nan
    rci = {r: float(reliable_change_threshold(sd_pre, r)) if math.isfinite(sd_pre) else math.nan for r in reliabilities}
    rows: list[dict] = []

    def add(family, population, n, values, sizes, observed_counts=None):
        # observed_counts: the completers meeting each definition, which an imputed share also rests on.
        for i, value in enumerate(grids[CHOICE[family]] if family != "effect_size" else EFFECT_SIZES):
            row = {"family": family, "population": population, "definition": _definition(family, value), "n": n}
            row[CHOICE.get(family, "effect_size")] = value
            row |= {key: (v[i] if isinstance(v, np.ndarray | list) else v) for key, v in values.items()}
            k = row.get("k")
            row["suppressed"] = bool(min_cell) and (
                any(too_few(s, min_cell) for s in sizes)
                or (k is not None and too_few(int(k), min_cell))
                or (observed_counts is not None and too_few(int(observed_counts[i]), min_cell))
            )
            rows.append(row)

    counts = _counts(pre, post, grids, rci)
    for family in CHOICE:
        met = counts[family]
        add(family, "completers", n_c, _share_rows(met, n_c, ci_level), (n_c,))
        if n_d:
            add(family, "itt", n_all, _share_rows(met, n_all, ci_level), (n_c, n_all))
    imputed = imputed_post_scores(pre_all, post_all, mi_imputations, mi_seed) if n_d else None
    if imputed is not None:
        mi_counts = _counts(pre_all[~done], imputed, grids, rci)
        for family in CHOICE:
            p = (counts[family][None, :] + mi_counts[family]) / n_all  # imputation x grid
            pooled = [
                rubin_combine(p[:, j], p[:, j] * (1 - p[:, j]) / n_all, df_complete=n_all - 1, ci_level=ci_level)
                for j in range(p.shape[1])
            ]
            values = {key: np.array([100 * q[key] for q in pooled]) for key in ("estimate", "ci_low", "ci_high")}
            add(family, "mi", n_all, values | {"k": None}, (n_c, n_d), counts[family])

    def add_effects(population, n, effect_rows, sizes):
        values = {key: [r[key] for r in effect_rows] for key in ("estimate", "ci_low", "ci_high")}
        add("effect_size", population, n, values | {"k": None}, sizes)

    add_effects("completers", n_c, _effect_rows(pre, post, ci_level), (n_c,))
    if n_d:
        add_effects("itt", n_all, _effect_rows(pre_all, np.where(done, post_all, pre_all), ci_level), (n_c, n_all))
    if imputed is not None:
        add_effects("mi", n_all, _mi_effect_rows(pre_all, post_all, imputed, ci_level), (n_c, n_d))
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    table["k"] = table["k"].astype("Int64")
    return suppress_cells(table, {}, min_cell, hidden_rows(table["suppressed"], HIDDEN))


def summary(table: pd.DataFrame) -> dict:
    """The multiverse in a few numbers, over the rows the small-cell rule leaves shown.

    ``multiverse_n_specifications`` (every row), ``multiverse_n_shown``; per family (name from
    :data:`SUMMARY_NAMES`) ``multiverse_<name>_min``/``_median``/``_max`` over completers and intention
    to treat, and for the paper's statements (:data:`STATEMENTS`) the percentage of the family's shown
    specifications, in every population, in which it holds: ``multiverse_share_remission_over_60``,
    ``multiverse_share_clinically_significant_75``, ``multiverse_share_large_effect``. A value with no
    shown row to rest on is None and named under ``suppressed`` when rows were hidden.
    """
    shown = table[~table["suppressed"].astype(bool) & table["estimate"].notna()]
    hidden_any = table["suppressed"].astype(bool)
    out: dict = {"multiverse_n_specifications": len(table), "multiverse_n_shown": len(shown), "suppressed": []}
    for family, name in SUMMARY_NAMES.items():
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
        holds = STATEMENTS[family][1]
        values = shown.loc[shown["family"] == family, "estimate"].astype(float)
        out[key] = float(100 * np.mean([holds(v) for v in values])) if len(values) else None
        if out[key] is None and hidden_any[table["family"] == family].any():
            out["suppressed"].append(key)
    return out
