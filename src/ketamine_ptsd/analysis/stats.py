"""Statistics of the report: the paired outcome, clinical significance, moderators.

Every function takes plain arrays or the validated cohort frame and returns plain Python values
(``None`` where the data cannot give a value) so results serialise straight into ``results.json``.
pingouin is reached only through :func:`_pingouin_paired`, because its column names change between
versions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ketamine_ptsd.analysis import outcomes
from ketamine_ptsd.analysis.effects import d_av, d_s, d_z, noncentral_t_ci, pooled_sd, t_interval
from ketamine_ptsd.analysis.privacy import suppress, too_few
from ketamine_ptsd.analysis.values import as_float as _float
from ketamine_ptsd.parameters import DEFAULTS

#: Scale of the Cauchy prior on the standardised effect in the JZS Bayes factor (Rouder et al. 2009's "medium").
BF_PRIOR_SCALE = 0.707

MODERATORS = ("age", "gender", "days_between", "n_psych_meds", "suicidal_ideation", "psychotherapy")


def completers(cohort: pd.DataFrame) -> pd.DataFrame:
    """Patients with both PCL-5 totals, with ``change = pcl5_pre - pcl5_post`` (positive = better)."""
    done = cohort[cohort["pcl5_pre"].notna() & cohort["pcl5_post"].notna()].copy()
    done["change"] = (done["pcl5_pre"] - done["pcl5_post"]).astype("float64")
    return done


def _pingouin_paired(pre: np.ndarray, post: np.ndarray) -> dict:
    """pingouin's paired t-test, read into this project's names."""
    import pingouin as pg

    row = pg.ttest(pre, post, paired=True).iloc[0]

    def col(*names):
        for name in names:
            if name in row.index:
                return row[name]
        raise KeyError(f"pingouin result has none of {names}: {list(row.index)}")

    t = _float(col("T"))
    # The BF10 column is a rounded string; the function gives the full-precision value.
    try:
        with np.errstate(over="ignore"):
            bf10 = _float(pg.bayesfactor_ttest(t, len(pre), paired=True, r=BF_PRIOR_SCALE))
    except (ZeroDivisionError, OverflowError, TypeError):
        bf10 = None  # beyond floating-point range (or no t): reported as such
    return {
        "t": t,
        "df": _float(col("dof")),
        "p": _float(col("p_val", "p-val")),
        "bf10": bf10,
    }


def paired_outcome(pre: Sequence[float], post: Sequence[float], ci_level: float = DEFAULTS["ci_level"]) -> dict:
    """The primary outcome: paired change in PCL-5 from ``pre`` to ``post``.

    Returns the contract's keys: ``n_completers``, ``pre_mean``, ``pre_sd``, ``post_mean``, ``post_sd``,
    ``mean_change``, ``change_sd``, ``change_ci_low``/``_high`` (t interval), ``t``, ``df``, ``p``,
    ``d_av`` (mean change over the root mean of the two variances: the paper's d) and ``d_z`` (mean change
    over the SD of change), each d with a noncentral-t interval, ``wilcoxon_p``, ``bf10`` (JZS, Cauchy prior
    of scale :data:`BF_PRIOR_SCALE`),
    and ``r_pre_post``.

    Examples
    --------
    >>> r = paired_outcome([50, 60, 40, 55], [30, 45, 35, 20])
    >>> round(r["mean_change"], 2), round(r["d_z"], 3)
    (18.75, 1.5)
    """
    pre = np.asarray(pre, dtype="float64")
    post = np.asarray(post, dtype="float64")
    change = pre - post
    n = len(change)
    out = {
        "n_completers": n,
        "pre_mean": _float(pre.mean()) if n else None,
        "pre_sd": _float(pre.std(ddof=1)) if n > 1 else None,
        "post_mean": _float(post.mean()) if n else None,
        "post_sd": _float(post.std(ddof=1)) if n > 1 else None,
        "mean_change": _float(change.mean()) if n else None,
        "change_sd": _float(change.std(ddof=1)) if n > 1 else None,
    }
    keys = (
        "change_ci_low",
        "change_ci_high",
        "t",
        "df",
        "p",
        "d_av",
        "d_av_ci_low",
        "d_av_ci_high",
        "d_z",
        "d_z_ci_low",
        "d_z_ci_high",
        "wilcoxon_p",
        "bf10",
        "r_pre_post",
    )
    out.update(dict.fromkeys(keys))
    if n < 2 or not out["change_sd"]:
        return out
    low, high = t_interval(out["mean_change"], out["change_sd"] / math.sqrt(n), n - 1, ci_level)
    out["change_ci_low"], out["change_ci_high"] = _float(low), _float(high)
    out.update(_pingouin_paired(pre, post))
    out["df"] = int(round(out["df"]))
    out["d_av"] = _float(d_av(out["mean_change"], out["pre_sd"], out["post_sd"]))
    out["d_z"] = float(d_z(out["mean_change"], out["change_sd"]))
    lo, hi = noncentral_t_ci(out["t"], out["df"], ci_level)
    if lo is not None:
        out["d_z_ci_low"], out["d_z_ci_high"] = _float(lo / math.sqrt(n)), _float(hi / math.sqrt(n))
        # d_av = d_z * sd_change / s_av: carry the d_z interval over (Algina & Keselman 2003).
        scale = out["d_av"] / out["d_z"]
        out["d_av_ci_low"], out["d_av_ci_high"] = out["d_z_ci_low"] * scale, out["d_z_ci_high"] * scale
    if np.any(change != 0):
        out["wilcoxon_p"] = _float(stats.wilcoxon(pre, post).pvalue)
    if out["pre_sd"] and out["post_sd"]:
        out["r_pre_post"] = _float(np.corrcoef(pre, post)[0, 1])
    return out


def outcome_sizes(outcome: dict) -> dict:
    """How many patients each value of :func:`paired_outcome` rests on: all completers, for every
    statistic (the count itself is the analysed sample's size, which is always given)."""
    return {key: outcome["n_completers"] for key in outcome if key != "n_completers"}


def _pct(k: int, n: int) -> float | None:
    return 100.0 * k / n if n else None


def baseline_sd(cohort: pd.DataFrame) -> float:
    """SD of ``pcl5_pre`` over completers (NaN for fewer than two): the reliable change index's default SD."""
    done = completers(cohort)
    return float(done["pcl5_pre"].astype("float64").std(ddof=1)) if len(done) > 1 else float("nan")


def clinical_significance(
    cohort: pd.DataFrame,
    mcid: float = DEFAULTS["mcid"],
    reliability: float = DEFAULTS["reliability"],
    response_fraction: float = DEFAULTS["response_fraction"],
    remission_cutoff: float = DEFAULTS["remission_cutoff"],
    rci_sd: float | None = DEFAULTS["rci_sd"],
    marx_reliable_change: float = DEFAULTS["marx_reliable_change"],
    marx_end_score: float = DEFAULTS["marx_end_score"],
) -> dict:
    """Share of completers (and of all patients, ``_itt``) meeting each definition of improvement.

    ``clinically_significant``: change >= ``mcid``; ``reliable_improvement``: change above the reliable
    change threshold, from ``rci_sd`` (``None``: the completers' baseline SD, :func:`baseline_sd`);
    ``response``: change >= ``response_fraction`` of ``pcl5_pre``; ``remission``: ``pcl5_post`` <
    ``remission_cutoff``; Marx et al. (2022): ``reliable_change_marx``, change >= ``marx_reliable_change``,
    and ``clinically_significant_marx``, that change and ``pcl5_post`` <= ``marx_end_score``. Dropouts count as
    not improved in the ``_itt`` shares. ``reliable_change_sd`` is the SD the threshold used.
    """
    done = completers(cohort)
    n, n_all = len(done), len(cohort)
    sd = baseline_sd(cohort) if rci_sd is None else float(rci_sd)
    rci = float(outcomes.reliable_change_threshold(sd, reliability)) if math.isfinite(sd) else None
    change = done["change"].to_numpy()
    pre = done["pcl5_pre"].to_numpy(dtype="float64")
    post = done["pcl5_post"].to_numpy(dtype="float64")
    met = {  # in the order of DEFINITIONS
        "clinically_significant": outcomes.clinically_significant(change, mcid),
        "reliable_improvement": outcomes.reliable_improvement(change, rci) if rci is not None else None,
        "response": outcomes.response(change, pre, response_fraction),
        "remission": outcomes.remission(post, remission_cutoff),
        "reliable_change_marx": outcomes.reliable_change_marx(change, marx_reliable_change),
        "clinically_significant_marx": outcomes.clinically_significant_marx(
            change, post, marx_reliable_change, marx_end_score
        ),
    }
    out: dict = {"reliable_change_threshold": _float(rci), "reliable_change_sd": _float(sd)}
    for name, mask in met.items():
        k = int(mask.sum()) if mask is not None else None
        out[f"n_{name}"] = k
        out[f"pct_{name}"] = _pct(k, n) if k is not None else None
        out[f"pct_{name}_itt"] = _pct(k, n_all) if k is not None else None
    return out


#: The definitions of improvement :func:`clinical_significance` counts.
DEFINITIONS = (
    "clinically_significant",
    "reliable_improvement",
    "response",
    "remission",
    "reliable_change_marx",
    "clinically_significant_marx",
)


def clinical_significance_sizes(rates: dict, n_completers: int) -> dict:
    """How many patients each value of :func:`clinical_significance` rests on: a count and its shares on
    the patients meeting the definition and on the completers; the reliable change threshold on the
    completers."""
    sizes: dict = {"reliable_change_threshold": n_completers, "reliable_change_sd": n_completers}
    for name in DEFINITIONS:
        for key in (f"n_{name}", f"pct_{name}", f"pct_{name}_itt"):
            sizes[key] = (rates[f"n_{name}"], n_completers)
    return sizes


def suppressed_outcome(cohort: pd.DataFrame, ci_level: float, min_cell: int) -> dict:
    """The completers' primary outcome (:func:`paired_outcome`) as the book publishes it: every statistic
    of fewer than ``min_cell`` completers suppressed (:func:`outcome_sizes`). The one path every chapter
    and the recomputed claims take, so a value is the same wherever it is shown.

    >>> cohort = pd.DataFrame({"pcl5_pre": [50, 60, 40, 55], "pcl5_post": [30, 45, 35, 20]})
    >>> out = suppressed_outcome(cohort, 0.95, min_cell=5)
    >>> out["n_completers"], out["mean_change"], "mean_change" in out["suppressed"]
    (4, None, True)
    >>> suppressed_outcome(cohort, 0.95, min_cell=0)["mean_change"]
    18.75
    """
    done = completers(cohort)
    outcome = paired_outcome(done["pcl5_pre"], done["pcl5_post"], ci_level)
    return suppress(outcome, outcome_sizes(outcome), min_cell)


def suppressed_rates(
    cohort: pd.DataFrame,
    mcid: float,
    reliability: float,
    response_fraction: float,
    remission_cutoff: float,
    min_cell: int,
    **definitions,
) -> dict:
    """:func:`clinical_significance` (``definitions``: its further keyword arguments) as the book publishes it: a count of 1 to ``min_cell - 1`` patients,
    its shares, and whatever rests on so few completers suppressed (:func:`clinical_significance_sizes`).

    >>> cohort = pd.DataFrame({"pcl5_pre": [50] * 8, "pcl5_post": [20] * 6 + [45, 48]})
    >>> out = suppressed_rates(cohort, 10, 0.82, 0.3, 33, min_cell=5)
    >>> out["n_clinically_significant"], out["n_remission"], out["pct_remission"]
    (6, 6, 75.0)
    >>> out = suppressed_rates(cohort, 4, 0.82, 0.3, 33, min_cell=5)
    >>> out["n_clinically_significant"], out["pct_clinically_significant"]
    (7, 87.5)
    """
    rates = clinical_significance(cohort, mcid, reliability, response_fraction, remission_cutoff, **definitions)
    return suppress(rates, clinical_significance_sizes(rates, len(completers(cohort))), min_cell)


def sensitivity_table(
    cohort: pd.DataFrame,
    remission_cutoffs: Sequence[float],
    change_thresholds: Sequence[float],
    reliability: float = DEFAULTS["reliability"],
    rci_sd: float | None = DEFAULTS["rci_sd"],
    marx_reliable_change: float = DEFAULTS["marx_reliable_change"],
    marx_end_score: float = DEFAULTS["marx_end_score"],
) -> pd.DataFrame:
    """Shares of completers and of all patients under each alternative threshold.

    Rows: remission below each of ``remission_cutoffs``, a drop of each of ``change_thresholds``, reliable
    improvement with the completers' baseline SD (and with ``rci_sd`` when given), and Marx et al.'s (2022)
    reliable change and its combination with an end score (as :func:`clinical_significance`).
    """
    done = completers(cohort)
    n, n_all = len(done), len(cohort)
    change, post = done["change"], done["pcl5_post"]
    masks = [("remission", f"pcl5_post < {c:g}", outcomes.remission(post, c)) for c in remission_cutoffs]
    masks += [
        ("clinically_significant", f"change >= {t:g}", outcomes.clinically_significant(change, t))
        for t in change_thresholds
    ]
    for sd, whose in ((baseline_sd(cohort), "completers' baseline SD"), (rci_sd, "normative SD")):
        if sd is not None and math.isfinite(sd):
            rci = float(outcomes.reliable_change_threshold(sd, reliability))
            masks.append(
                (
                    "reliable_improvement",
                    f"change > {rci:.1f} ({whose} {sd:.2f})",
                    outcomes.reliable_improvement(change, rci),
                )
            )
    marx = f"change >= {marx_reliable_change:g}"
    masks.append(
        (
            "reliable_change_marx",
            f"{marx} (Marx et al. 2022)",
            outcomes.reliable_change_marx(change, marx_reliable_change),
        )
    )
    masks.append(
        (
            "clinically_significant_marx",
            f"{marx} and pcl5_post <= {marx_end_score:g} (Marx et al. 2022)",
            outcomes.clinically_significant_marx(change, post, marx_reliable_change, marx_end_score),
        )
    )
    rows = [(outcome, text, int(mask.sum())) for outcome, text, mask in masks]
    rows = [(outcome, text, k, _pct(k, n), _pct(k, n_all)) for outcome, text, k in rows]
    return pd.DataFrame(rows, columns=["outcome", "definition", "n", "pct", "pct_itt"])


def ols(y: np.ndarray, X: np.ndarray) -> dict:
    """Ordinary least squares with an intercept column already in ``X``.

    Returns ``coef``, ``se``, ``t``, ``p`` (arrays), ``rss``, ``df_resid``.
    """
    y = np.asarray(y, dtype="float64")
    X = np.asarray(X, dtype="float64")
    n, k = X.shape
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    rss = float(resid @ resid)
    df_resid = n - k
    sigma2 = rss / df_resid if df_resid > 0 else float("nan")
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / se
    p = 2 * stats.t.sf(np.abs(t), df_resid) if df_resid > 0 else np.full(k, np.nan)
    return {"coef": coef, "se": se, "t": t, "p": p, "rss": rss, "df_resid": df_resid}


def _design(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Columns coding one moderator: numeric as is, boolean as 0/1 (pandas counts both as numeric), a category
    as dummies (first level dropped)."""
    if pd.api.types.is_numeric_dtype(values):
        return values.astype("float64").to_numpy()[:, None], [values.name]
    levels = sorted(values.dropna().unique())
    cols = [f"{values.name}[{lvl}]" for lvl in levels[1:]]
    return np.column_stack([(values == lvl).to_numpy(dtype="float64") for lvl in levels[1:]]) if cols else np.zeros(
        (len(values), 0)
    ), cols


#: The level that gathers a category's levels of too few completers (see :func:`moderator_test`).
POOLED_LEVEL = "smaller levels, pooled"


def _pool_small_levels(sub: pd.DataFrame, moderator: str, min_cell: int) -> tuple[pd.DataFrame, str]:
    """A category's levels of 1 to ``min_cell - 1`` completers merged into :data:`POOLED_LEVEL`; if that
    is still too small, its patients are left out. Returns the rows and a note saying what was done."""
    counts = sub[moderator].value_counts()
    small = [level for level, k in counts.items() if too_few(k, min_cell)]
    if len(small) == 0:
        return sub, ""
    sub = sub.copy()
    pooled = sub[moderator].isin(small)
    if not too_few(int(pooled.sum()), min_cell):
        sub[moderator] = sub[moderator].astype("object").where(~pooled, POOLED_LEVEL)
        return sub, f"levels of fewer than {min_cell} completers pooled"
    return sub[~pooled], f"levels of fewer than {min_cell} completers left out"


def moderator_test(
    done: pd.DataFrame, moderator: str, ci_level: float = DEFAULTS["ci_level"], min_cell: int = DEFAULTS["min_cell"]
) -> dict:
    """Does ``moderator`` predict change once baseline PCL-5 is held constant?

    Fits ``change ~ pcl5_pre + moderator`` on completers with the moderator reported and tests the
    moderator's terms with a nested-model F test (equal to the squared t test for a single term).

    With ``min_cell``, no result rests on a group of 1 to ``min_cell - 1`` completers: a category's small
    levels are pooled (or left out when even pooled they are too few), and the row of a moderator reported
    for too few completers, or of a yes/no moderator with a level that small, is suppressed
    (``suppressed`` is True and every statistic None).
    """
    sub = done[done[moderator].notna()]
    out = {
        "moderator": moderator,
        "n": len(sub),
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "statistic": None,
        "p": None,
        "note": "",
        "suppressed": False,
    }
    if sub.empty:
        out["note"] = "not reported for any completer"
        return out
    is_boolean = sub[moderator].dtype in ("boolean", bool)
    if min_cell and not is_boolean and not pd.api.types.is_numeric_dtype(sub[moderator]):
        sub, out["note"] = _pool_small_levels(sub, moderator, min_cell)
        out["n"] = len(sub)
    levels = sub[moderator].value_counts() if is_boolean else pd.Series(dtype="int64")
    small = bool(min_cell) and (too_few(len(sub), min_cell) or any(too_few(k, min_cell) for k in levels))
    out = _fit_moderator(sub, moderator, ci_level, out)
    # Only a result that exists can be suppressed; one the data cannot give keeps its own reason.
    if small and out["p"] is not None:
        out.update(dict.fromkeys(("estimate", "ci_low", "ci_high", "statistic", "p")))
        out["suppressed"] = True
        out["note"] = f"suppressed: a group of fewer than {min_cell} completers"
    return out


def _fit_moderator(sub: pd.DataFrame, moderator: str, ci_level: float, out: dict) -> dict:
    if sub.empty:
        return out
    X_mod, names = _design(sub[moderator])
    if X_mod.shape[1] == 0 or np.all(X_mod.std(axis=0) == 0):
        out["note"] = "takes a single value"
        return out
    y = sub["change"].to_numpy()
    base = np.column_stack([np.ones(len(sub)), sub["pcl5_pre"].to_numpy(dtype="float64")])
    full = ols(y, np.column_stack([base, X_mod]))
    if full["df_resid"] < 1:
        out["note"] = "too few patients"
        return out
    reduced = ols(y, base)
    q = X_mod.shape[1]
    f = ((reduced["rss"] - full["rss"]) / q) / (full["rss"] / full["df_resid"])
    out["statistic"] = _float(f)
    out["p"] = _float(stats.f.sf(f, q, full["df_resid"]))
    if q == 1:
        out["estimate"] = _float(full["coef"][2])
        low, high = t_interval(full["coef"][2], full["se"][2], full["df_resid"], ci_level)
        out["ci_low"], out["ci_high"] = _float(low), _float(high)
    else:
        contrasts = f"{q} contrasts against {sorted(sub[moderator].dropna().unique())[0]}; F test"
        out["note"] = "; ".join(filter(None, [out["note"], contrasts]))
    return out


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment; ``None`` entries are skipped and stay ``None``."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def moderator_table(
    cohort: pd.DataFrame,
    moderators: Sequence[str] = MODERATORS,
    ci_level: float = DEFAULTS["ci_level"],
    min_cell: int = DEFAULTS["min_cell"],
) -> pd.DataFrame:
    """One row per moderator: estimate per unit (or F test for categories), p and Holm-adjusted p.

    Suppressed rows (see :func:`moderator_test`) have no p and so are not in Holm's family.
    """
    done = completers(cohort)
    rows = [moderator_test(done, m, ci_level, min_cell) for m in moderators]
    table = pd.DataFrame(rows)
    table["p_holm"] = holm([r["p"] for r in rows])
    return table


def psychotherapy_contrast_sizes(contrast: dict) -> dict:
    """How many patients each value of :func:`psychotherapy_contrast` rests on: a group's count and mean on
    that group, the contrast on both."""
    n1, n2 = contrast["n_psychotherapy"], contrast["n_no_psychotherapy"]
    both = (n1, n2)
    return {
        "n_psychotherapy": n1,
        "mean_change_psychotherapy": n1,
        "n_no_psychotherapy": n2,
        "mean_change_no_psychotherapy": n2,
        "psychotherapy_d": both,
        "psychotherapy_d_ci_low": both,
        "psychotherapy_d_ci_high": both,
        "psychotherapy_p": both,
    }


def suppressed_contrast(cohort: pd.DataFrame, ci_level: float, min_cell: int) -> dict:
    """:func:`psychotherapy_contrast` as the book publishes it: a group of 1 to ``min_cell - 1`` completers
    hides its size and mean, and the contrast (:func:`psychotherapy_contrast_sizes`)."""
    contrast = psychotherapy_contrast(cohort, ci_level)
    return suppress(contrast, psychotherapy_contrast_sizes(contrast), min_cell)


def psychotherapy_contrast(cohort: pd.DataFrame, ci_level: float = DEFAULTS["ci_level"]) -> dict:
    """Mean change with versus without concomitant psychotherapy.

    ``psychotherapy_d`` is the difference in mean change over the pooled SD of change (Cohen's d_s), with a
    noncentral-t interval; ``psychotherapy_p`` is Student's two-sample t test.
    """
    done = completers(cohort)
    with_ = done.loc[done["psychotherapy"] == True, "change"].to_numpy()  # noqa: E712 (nullable boolean)
    without = done.loc[done["psychotherapy"] == False, "change"].to_numpy()  # noqa: E712
    n1, n2 = len(with_), len(without)
    out = {
        "n_psychotherapy": n1,
        "n_no_psychotherapy": n2,
        "mean_change_psychotherapy": None,
        "mean_change_no_psychotherapy": None,
        "psychotherapy_d": None,
        "psychotherapy_d_ci_low": None,
        "psychotherapy_d_ci_high": None,
        "psychotherapy_p": None,
    }
    if n1:
        out["mean_change_psychotherapy"] = _float(with_.mean())
    if n2:
        out["mean_change_no_psychotherapy"] = _float(without.mean())
    if n1 < 2 or n2 < 2:
        return out
    df = n1 + n2 - 2
    pooled = pooled_sd(with_, without)
    if pooled == 0:
        return out
    d = d_s(with_.mean(), without.mean(), pooled)
    t = d / math.sqrt(1 / n1 + 1 / n2)
    out["psychotherapy_d"] = _float(d)
    out["psychotherapy_p"] = _float(2 * stats.t.sf(abs(t), df))
    lo, hi = noncentral_t_ci(t, df, ci_level)
    if lo is not None:
        scale = math.sqrt(1 / n1 + 1 / n2)
        out["psychotherapy_d_ci_low"], out["psychotherapy_d_ci_high"] = _float(lo * scale), _float(hi * scale)
    return out
