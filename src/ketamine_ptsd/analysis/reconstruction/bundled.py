"""The bundled synthetic cohort (``data/cohort.csv``): one seeded cohort that reproduces the published aggregates.

Integer PCL-5 scores for the published number of patients whose means and SDs round to the reported values
and whose counts of clinically significant change and remission round to the reported percentages (a
SPRITE-style search: Heathers et al. 2018, moving one point between two patients at a time so that sums stay
exact). Covariates are drawn and kept only when the published qualitative findings hold (most patients
women, nearly half not reporting race, the published psychotherapy d, no other significant moderator): the
moderator tests of :mod:`ketamine_ptsd.analysis.stats` decide that, which is why the generator is analysis.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis import outcomes, stats
from ketamine_ptsd.analysis.effects import d_s, pooled_sd
from ketamine_ptsd.analysis.reconstruction.targets import DEFAULT_SEED, ReconstructionError, Targets


def fit_sum(x: np.ndarray, target: int, lo: int, hi: int, rng: np.random.Generator) -> None:
    """Add or remove single points at random entries until ``x`` sums to ``target``, staying in bounds."""
    diff = int(target - x.sum())
    while diff:
        step = 1 if diff > 0 else -1
        room = np.flatnonzero((x + step >= lo) & (x + step <= hi))
        if room.size == 0:
            raise ReconstructionError("sum unreachable within bounds")
        k = min(abs(diff), room.size)
        x[rng.choice(room, size=k, replace=False)] += step
        diff -= step * k


def _fit_ss(x: np.ndarray, window: tuple[int, int], lo: int, hi: int, rng, max_steps: int) -> None:
    """Move one point between two entries at a time until the sum of squares lies in ``window``."""
    ss = int((x * x).sum())
    n = len(x)
    for _ in range(max_steps):
        if window[0] <= ss <= window[1]:
            return
        i, j = rng.integers(n, size=2)
        if i == j or x[i] + 1 > hi or x[j] - 1 < lo:
            continue
        delta = 2 * (int(x[i]) - int(x[j])) + 2
        new = ss + delta
        if _distance(new, window) < _distance(ss, window):
            x[i] += 1
            x[j] -= 1
            ss = new
    raise ReconstructionError("sum of squares not reached")


def _distance(value: int, window: tuple[int, int]) -> int:
    return max(window[0] - value, 0, value - window[1])


def search_scores(
    targets: Targets, rng: np.random.Generator, max_steps: int = 200_000
) -> tuple[np.ndarray, np.ndarray]:
    """Integer ``pcl5_pre`` and ``pcl5_post`` meeting every constraint of ``targets`` exactly.

    Pre scores are fitted first (sum, then sum of squares). Post scores then move one point at a time
    between two patients, keeping the sum fixed, and a move is kept when it brings the sum of squares
    and the two counts (clinically significant change, remission) no further from their targets.
    """
    t = targets
    n = t.n
    pre = np.clip(np.rint(rng.normal(t.pre_mean, t.pre_sd, n)), t.pre_min, t.score_max).astype(np.int64)
    fit_sum(pre, t.sum_for(t.pre_mean), t.pre_min, t.score_max, rng)
    _fit_ss(pre, t.ss_window(t.pre_mean, t.pre_sd), t.pre_min, t.score_max, rng, max_steps)

    mean_change = t.pre_mean - t.post_mean
    change_sd = np.sqrt(max(t.post_sd**2 - 0.3 * t.pre_sd**2, 1.0))
    post = np.clip(np.rint(pre - rng.normal(mean_change, change_sd, n)), 0, t.score_max).astype(np.int64)
    fit_sum(post, t.sum_for(t.post_mean), 0, t.score_max, rng)

    window = t.ss_window(t.post_mean, t.post_sd)
    ss = int((post * post).sum())
    cs = int(outcomes.clinically_significant(pre - post, t.mcid).sum())
    rem = int(outcomes.remission(post, t.remission_cutoff).sum())

    def cs_delta(k, before, after):  # how the count moves when patient k's post total does
        return int(outcomes.clinically_significant(pre[k] - after, t.mcid)) - int(
            outcomes.clinically_significant(pre[k] - before, t.mcid)
        )

    def rem_delta(before, after):
        return int(outcomes.remission(after, t.remission_cutoff)) - int(outcomes.remission(before, t.remission_cutoff))

    def energy(ss_, cs_, rem_):
        # One count off weighs as much as a sum of squares 40 away: both must reach zero.
        return _distance(ss_, window) + 40 * (abs(cs_ - t.n_clinically_significant) + abs(rem_ - t.n_remission))

    e = energy(ss, cs, rem)
    batch = 4096
    steps = 0
    while e > 0:
        if steps >= max_steps:
            raise ReconstructionError("post scores did not reach every constraint")
        pairs = rng.integers(n, size=(batch, 2))
        for i, j in pairs:
            steps += 1
            if i == j:
                continue
            pi, pj = int(post[i]), int(post[j])
            if pi + 1 > t.score_max or pj - 1 < 0:
                continue
            new_ss = ss + 2 * (pi - pj) + 2
            # Patient i's total goes up a point and patient j's down one.
            new_cs = cs + cs_delta(i, pi, pi + 1) + cs_delta(j, pj, pj - 1)
            new_rem = rem + rem_delta(pi, pi + 1) + rem_delta(pj, pj - 1)
            new_e = energy(new_ss, new_cs, new_rem)
            if new_e <= e:
                post[i] = pi + 1
                post[j] = pj - 1
                ss, cs, rem, e = new_ss, int(new_cs), int(new_rem), new_e
                if e == 0:
                    break
    return pre, post


def _covariates(n: int, rng: np.random.Generator, t: Targets) -> pd.DataFrame:
    """Covariates drawn for ``n`` patients, as whole numbers within plausible ranges: days between the two
    scores 7-180, age 18-78, psychiatric medications 0-7, infusions 1-12 (summing to the published mean)."""
    n_race_unreported = int(round(n * np.mean(t.pct_race_unreported_range) / 100))
    race = rng.choice(
        ["White", "Hispanic or Latino", "Black or African American", "Asian", "Multiracial"],
        p=[0.62, 0.14, 0.1, 0.08, 0.06],
        size=n,
    ).astype(object)
    race[rng.choice(n, size=n_race_unreported, replace=False)] = None
    gender = rng.choice(["woman", "man", "nonbinary", None], p=[0.66, 0.28, 0.03, 0.03], size=n)
    infusions = np.clip(rng.poisson(4.9, n), 1, 12).astype(np.int64)
    target_sum = int(np.ceil(np.mean(t.mean_infusions_range) * n))
    fit_sum(infusions, target_sum, 1, 12, rng)
    return pd.DataFrame(
        {
            "days_between": np.clip(np.rint(rng.gamma(4.0, 9.0, n)), 7, 180).astype(np.int64),
            "age": np.clip(np.rint(rng.normal(41, 12, n)), 18, 78).astype(np.int64),
            "gender": gender,
            "race_ethnicity": race,
            "n_infusions": infusions,
            "n_psych_meds": np.clip(rng.poisson(1.6, n), 0, 7).astype(np.int64),
            "suicidal_ideation": rng.random(n) < 0.35,
        }
    )


def _assign_psychotherapy(cohort: pd.DataFrame, t: Targets, rng, max_steps: int = 20_000) -> None:
    """Swap psychotherapy labels between two patients until d rounds to the target and p < alpha."""
    n = len(cohort)
    labels = rng.random(n) < 0.45
    change = (cohort["pcl5_pre"] - cohort["pcl5_post"]).to_numpy(dtype="float64")
    half = 0.5 * 10**-t.decimals

    def d_of(lab):
        a, b = change[lab], change[~lab]
        return d_s(a.mean(), b.mean(), pooled_sd(a, b))

    d = d_of(labels)
    for _ in range(max_steps):
        if abs(d - t.psychotherapy_d) < half:
            break
        i = rng.choice(np.flatnonzero(labels))
        j = rng.choice(np.flatnonzero(~labels))
        labels[i], labels[j] = False, True
        new = d_of(labels)
        if abs(new - t.psychotherapy_d) < abs(d - t.psychotherapy_d):
            d = new
        else:
            labels[i], labels[j] = True, False
    else:
        raise ReconstructionError("psychotherapy effect not reached")
    cohort["psychotherapy"] = labels


def bundled_cohort(seed: int = DEFAULT_SEED, targets: Targets = Targets(), max_tries: int = 200) -> pd.DataFrame:
    """The synthetic cohort shipped in ``data/cohort.csv``: seeded, and checked against every target."""
    rng = np.random.default_rng(seed)
    pre, post = search_scores(targets, rng)
    for _ in range(max_tries):
        cohort = pd.DataFrame(
            {"patient_id": [f"SYN-{i:03d}" for i in range(1, targets.n + 1)], "pcl5_pre": pre, "pcl5_post": post}
        )
        cohort = pd.concat([cohort, _covariates(targets.n, rng, targets)], axis=1)
        _assign_psychotherapy(cohort, targets, rng)
        if _meets_covariate_targets(cohort, targets):
            return _typed(cohort)
    raise ReconstructionError(f"no covariate draw met every target in {max_tries} tries")


def _typed(cohort: pd.DataFrame) -> pd.DataFrame:
    for col in ("pcl5_pre", "pcl5_post", "days_between", "age", "n_infusions", "n_psych_meds"):
        cohort[col] = cohort[col].astype("Int64")
    for col in ("suicidal_ideation", "psychotherapy"):
        cohort[col] = cohort[col].astype("boolean")
    for col in ("patient_id", "gender", "race_ethnicity"):
        cohort[col] = cohort[col].astype("string")
    return cohort


def _meets_covariate_targets(cohort: pd.DataFrame, t: Targets) -> bool:
    typed = _typed(cohort.copy())
    # The search aims at the published findings, which no small-cell rule touched.
    mods = stats.moderator_table(typed, (*t.moderators_null, "psychotherapy"), min_cell=0).set_index("moderator")["p"]
    contrast = stats.psychotherapy_contrast(typed)
    women = (typed["gender"] == "woman").sum() / typed["gender"].notna().sum()
    race_unreported = 100 * typed["race_ethnicity"].isna().mean()
    mean_infusions = typed["n_infusions"].mean()
    return (
        all(mods[m] >= t.alpha for m in t.moderators_null)
        and mods["psychotherapy"] < t.alpha
        and contrast["psychotherapy_p"] < t.alpha
        and women > 0.5
        and t.pct_race_unreported_range[0] <= race_unreported <= t.pct_race_unreported_range[1]
        and t.mean_infusions_range[0] <= mean_infusions <= t.mean_infusions_range[1]
    )


def write_cohort(cohort: pd.DataFrame, path) -> None:
    """CSV as the data contract reads it: booleans as true/false, missing as empty."""
    out = cohort.copy()
    for col in ("suicidal_ideation", "psychotherapy"):
        out[col] = out[col].map({True: "true", False: "false"})
    out.to_csv(path, index=False, lineterminator="\n")
