"""A synthetic cohort that reproduces the published aggregates.

The study's raw data are not public. This module builds, from a seed, integer PCL-5 scores for the
published number of patients whose means and SDs round to the reported values and whose counts of
clinically significant change and remission round to the reported percentages (a SPRITE-style search:
Heathers et al. 2018, moving one point between two patients at a time so that sums stay exact). Covariates
are drawn so that the published qualitative findings hold (most patients women, nearly half not reporting
race, a psychotherapy effect of d = 0.42, no other significant moderator).

Every number the search aims at comes from :class:`Targets`, whose defaults are the published figures.

:func:`reconstruct_many` makes many such cohorts (scores and psychotherapy labels), each from its own seed
and each meeting every constraint exactly (:func:`meets_constraints` checks that from the scores, apart from
the search), and :func:`reconstruction_statistics` gives, per cohort, the statistics the paper did not
report: how far they spread is how much they depend on the unpublished data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis import stats
from ketamine_ptsd.data.contract import PROBABLE_PTSD_CUTOFF
from ketamine_ptsd.parameters import DEFAULTS

DEFAULT_SEED = 20241001


@dataclass(frozen=True)
class Targets:
    """Published aggregates the synthetic cohort must reproduce at their reported precision."""

    n: int = 117  # patients (published and preprint)
    pre_mean: float = 52.54  # published version
    post_mean: float = 28.78  # published version
    pre_sd: float = 11.90  # preprint (the published SDs are not public)
    post_sd: float = 16.52  # preprint
    decimals: int = 2
    pre_min: int = PROBABLE_PTSD_CUTOFF  # everyone at or above the probable-PTSD cutoff at baseline
    score_max: int = 80
    # The paper's thresholds are not published: the book's own defaults stand behind the two percentages.
    mcid: int = DEFAULTS["mcid"]
    n_clinically_significant: int = 88  # the only count of 117 that rounds to 75% (change >= 10)
    remission_cutoff: int = DEFAULTS["remission_cutoff"]
    n_remission: int = 72  # 72 and 73 of 117 both round to 62%; the bundled cohort has 72 (post < 33)
    psychotherapy_d: float = 0.42  # preprint, with p < .05
    mean_infusions_range: tuple[float, float] = (4.75, 4.99)  # "an average of nearly five"
    pct_race_unreported_range: tuple[float, float] = (40.0, 50.0)  # "nearly half"
    alpha: float = DEFAULTS["alpha"]
    moderators_null: tuple[str, ...] = field(
        default=("age", "gender", "days_between", "n_psych_meds", "suicidal_ideation")
    )

    def sum_for(self, mean: float) -> int:
        return int(round(mean * self.n))

    def ss_window(self, mean: float, sd: float) -> tuple[int, int]:
        """Integer sums of squares whose SD rounds to ``sd`` given the sum for ``mean``."""
        s = self.sum_for(mean)
        half = 0.5 * 10**-self.decimals
        lo = (sd - half) ** 2 * (self.n - 1) + s * s / self.n
        hi = (sd + half) ** 2 * (self.n - 1) + s * s / self.n
        return int(np.ceil(lo)), int(np.floor(hi - 1e-9))


#: The published claims (ids in ``data/published_claims.yml``) the generator makes the bundled cohort reproduce,
#: each with the target that does it: on that cohort a match is by construction, not evidence.
TARGETED_CLAIMS: dict[str, str] = {
    "n_patients": "Targets.n",
    "women_majority": "_meets_covariate_targets: women > 0.5",
    "race_unreported_nearly_half": "Targets.pct_race_unreported_range",
    "mean_infusions_published": "Targets.mean_infusions_range",
    "pre_mean_published": "Targets.pre_mean",
    "pre_sd_preprint": "Targets.pre_sd",
    "post_mean_published": "Targets.post_mean",
    "post_sd_preprint": "Targets.post_sd",
    "effect_large_published": "d_av follows from Targets.pre_mean, post_mean, pre_sd and post_sd",
    "pct_clinically_significant_published": "Targets.n_clinically_significant",
    "pct_remission_published": "Targets.n_remission",
    **{
        f"moderator_{name}_not_significant_preprint": "Targets.moderators_null"
        for name in ("age", "gender", "days_between", "n_psych_meds", "suicidal_ideation")
    },
    "psychotherapy_moderator_significant_preprint": "_meets_covariate_targets: moderator p < Targets.alpha",
    "psychotherapy_d_preprint": "Targets.psychotherapy_d",
    "psychotherapy_greater_reduction_published": "Targets.psychotherapy_d (positive)",
}


class ReconstructionError(RuntimeError):
    """The search did not reach every constraint within its step budget."""


def _fit_sum(x: np.ndarray, target: int, lo: int, hi: int, rng: np.random.Generator) -> None:
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
    _fit_sum(pre, t.sum_for(t.pre_mean), t.pre_min, t.score_max, rng)
    _fit_ss(pre, t.ss_window(t.pre_mean, t.pre_sd), t.pre_min, t.score_max, rng, max_steps)

    mean_change = t.pre_mean - t.post_mean
    change_sd = np.sqrt(max(t.post_sd**2 - 0.3 * t.pre_sd**2, 1.0))
    post = np.clip(np.rint(pre - rng.normal(mean_change, change_sd, n)), 0, t.score_max).astype(np.int64)
    _fit_sum(post, t.sum_for(t.post_mean), 0, t.score_max, rng)

    window = t.ss_window(t.post_mean, t.post_sd)
    ss = int((post * post).sum())
    cs = int((pre - post >= t.mcid).sum())
    rem = int((post < t.remission_cutoff).sum())

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
            new_cs = cs - (pre[i] - pi == t.mcid) + (pre[j] - pj == t.mcid - 1)
            new_rem = rem - (pi == t.remission_cutoff - 1) + (pj == t.remission_cutoff)
            new_e = energy(new_ss, new_cs, new_rem)
            if new_e <= e:
                post[i] = pi + 1
                post[j] = pj - 1
                ss, cs, rem, e = new_ss, int(new_cs), int(new_rem), new_e
                if e == 0:
                    break
    return pre, post


def _covariates(n: int, rng: np.random.Generator, t: Targets) -> pd.DataFrame:
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
    _fit_sum(infusions, target_sum, 1, 12, rng)
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
        return (a.mean() - b.mean()) / stats.pooled_sd(a, b)

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


# ---------------------------------------------------------------------------------------------------
# Many reconstructions: how much do the unpublished quantities depend on the unknown raw data?
# ---------------------------------------------------------------------------------------------------
#: Latent pre-post correlation of each cohort's starting draw, uniform over this range (the grid of
#: :func:`ketamine_ptsd.analysis.consistency.r_range_for`). The paper does not report the correlation, so starting
#: points span unrelated to strongly related scores; the search then moves scores until every published
#: constraint holds, and the correlation a cohort ends with is whatever that leaves.
LATENT_R_RANGE = (-0.2, 0.95)
#: Share of patients labelled as in psychotherapy before the labels are swapped to reach the published d
#: (the share is not published; the bundled cohort uses the same).
PSYCHOTHERAPY_SHARE = 0.45
#: Fresh starting draws a cohort may take, from its own random stream, before the search gives up.
MAX_ATTEMPTS = 50
# Weight of one count off target against one unit of sum of squares. A single move changes the sum of
# squares by less than this, so no move trades a count for the sum of squares: counts are fixed first.
_COUNT_WEIGHT = 10_000


def _matched_draw(z: np.ndarray, mean: float, sd: float, lo: int, hi: int, rounds: int = 8) -> np.ndarray:
    """Integers ``clip(rint(a + k z))`` with ``a`` and ``k`` tuned so mean and SD land near the targets.

    Clipping at the bounds shrinks the spread and moves the mean, so a few fixed-point rounds correct the
    shift and scale; the search then has only rounding left to repair, and the draw keeps its shape.
    """
    z = (z - z.mean()) / z.std(ddof=1)
    a, k = mean, sd
    for _ in range(rounds):
        x = np.clip(np.rint(a + k * z), lo, hi)
        spread = x.std(ddof=1)
        if spread == 0:
            break
        a += mean - x.mean()
        k *= sd / spread
    return np.clip(np.rint(a + k * z), lo, hi).astype(np.int64)


def _descend(
    x: np.ndarray,
    window: tuple[int, int],
    lo: int,
    hi: int,
    rng: np.random.Generator,
    max_steps: int,
    counts: tuple | None = None,
    max_shift: int = 12,
) -> bool:
    """Move points from one entry to another until the sum of squares lies in ``window`` (in place).

    A move raises entry i by k points and lowers entry j by k, so the sum stays fixed. Each step draws k
    from 1 to ``max_shift``, evaluates every (i, j) at once and takes, uniformly at random, one of the
    moves that lower the energy by at least half as much as the best move does; when none lowers it, a
    random move that leaves it unchanged. Energy is the distance of the sum of squares from ``window``
    plus a large weight per count off target. Shifts of more
    than one point let a count jump its boundary without a long random walk. ``counts``, for
    post-treatment scores, is ``(pre, mcid, n_clinically_significant, cutoff, n_remission)``: the numbers
    of patients with a drop of at least ``mcid`` and with a score below ``cutoff`` must reach their
    targets too. Returns whether every target was reached.
    """
    n = len(x)
    off_diagonal = ~np.eye(n, dtype=bool)
    ss = int(x @ x)
    for _ in range(max_steps):
        now = max(window[0] - ss, 0, ss - window[1])
        if counts is not None:
            pre, mcid, n_cs, cutoff, n_rem = counts
            cs_now = (pre - x) >= mcid
            rem_now = x < cutoff
            cs_off, rem_off = int(cs_now.sum()) - n_cs, int(rem_now.sum()) - n_rem
            now += _COUNT_WEIGHT * (abs(cs_off) + abs(rem_off))
        if now == 0:
            return True
        k = int(rng.integers(1, max_shift + 1))
        up, down = x + k, x - k
        # Sum of squares after each move: ss + 2k (x_i - x_j) + 2k^2.
        new_ss = ss + 2 * k * (x[:, None] - x[None, :]) + 2 * k * k
        energy = np.maximum(window[0] - new_ss, 0) + np.maximum(new_ss - window[1], 0)
        if counts is not None:
            # Change in each count when i goes up by k and j goes down by k.
            cs_up = ((pre - up) >= mcid).astype(np.int64) - cs_now
            cs_down = ((pre - down) >= mcid).astype(np.int64) - cs_now
            rem_up = (up < cutoff).astype(np.int64) - rem_now
            rem_down = (down < cutoff).astype(np.int64) - rem_now
            energy = energy + _COUNT_WEIGHT * (
                np.abs(cs_off + cs_up[:, None] + cs_down[None, :])
                + np.abs(rem_off + rem_up[:, None] + rem_down[None, :])
            )
        allowed = off_diagonal & (up <= hi)[:, None] & (down >= lo)[None, :]
        if not allowed.any():
            continue
        best = int(energy[allowed].min())
        if best > now:
            continue
        # Among the improving moves, those that close at least half the gap the best one closes: a count
        # off target is fixed before the sum of squares is polished, instead of by chance.
        moves = np.flatnonzero(allowed & (2 * energy <= now + best))
        i, j = divmod(int(moves[rng.integers(moves.size)]), n)
        ss += 2 * k * (int(x[i]) - int(x[j])) + 2 * k * k
        x[i] += k
        x[j] -= k
    return False


def _try_scores(t: Targets, rng: np.random.Generator, max_steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """One starting draw and its search; None when the search stalls (the caller draws again)."""
    r = rng.uniform(*LATENT_R_RANGE)
    z_pre, z_other = rng.standard_normal((2, t.n))
    z_post = r * z_pre + np.sqrt(1 - r * r) * z_other
    pre = _matched_draw(z_pre, t.pre_mean, t.pre_sd, t.pre_min, t.score_max)
    post = _matched_draw(z_post, t.post_mean, t.post_sd, 0, t.score_max)
    try:
        _fit_sum(pre, t.sum_for(t.pre_mean), t.pre_min, t.score_max, rng)
        _fit_sum(post, t.sum_for(t.post_mean), 0, t.score_max, rng)
    except ReconstructionError:
        return None
    if not _descend(pre, t.ss_window(t.pre_mean, t.pre_sd), t.pre_min, t.score_max, rng, max_steps):
        return None
    counts = (pre, t.mcid, t.n_clinically_significant, t.remission_cutoff, t.n_remission)
    if not _descend(post, t.ss_window(t.post_mean, t.post_sd), 0, t.score_max, rng, max_steps, counts):
        return None
    return pre, post


def _d_from_sums(s1, q1, n1: int, total: float, total2: float, n: int):
    """Cohen's d_s of the group with psychotherapy against the rest, from the group's sum and sum of squares."""
    s0, q0, n0 = total - s1, total2 - q1, n - n1
    pooled = np.sqrt(((q1 - s1 * s1 / n1) + (q0 - s0 * s0 / n0)) / (n - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (s1 / n1 - s0 / n0) / pooled


def _psychotherapy_labels(
    change: np.ndarray, t: Targets, rng: np.random.Generator, max_steps: int = 200
) -> np.ndarray | None:
    """Labels whose Cohen's d_s (difference in mean change over the pooled SD) rounds to the target.

    Like :func:`_assign_psychotherapy`, labels are swapped between a patient with and one without
    psychotherapy (group sizes stay as drawn), but every swap is evaluated at once from group sums: a swap
    that lands inside the rounding window ends the search, otherwise a random swap that brings d closer.
    """
    n = len(change)
    labels = rng.random(n) < PSYCHOTHERAPY_SHARE
    n1 = int(labels.sum())
    if not 2 <= n1 <= n - 2:
        return None
    # Strictly inside the window: a d exactly on its edge would depend on the rounding rule.
    half = 0.5 * 10**-t.decimals * (1 - 1e-9)
    c, c2 = change, change * change
    total, total2 = c.sum(), c2.sum()
    for _ in range(max_steps):
        inside, outside = np.flatnonzero(labels), np.flatnonzero(~labels)
        s1, q1 = c[labels].sum(), c2[labels].sum()
        current = abs(_d_from_sums(s1, q1, n1, total, total2, n) - t.psychotherapy_d)
        # d after swapping inside[a] out of the group and outside[b] into it, for every (a, b).
        gap = np.abs(
            _d_from_sums(
                s1 - c[inside][:, None] + c[outside][None, :],
                q1 - c2[inside][:, None] + c2[outside][None, :],
                n1,
                total,
                total2,
                n,
            )
            - t.psychotherapy_d
        )
        gap[~np.isfinite(gap)] = np.inf
        hits = np.flatnonzero(gap < half)
        swaps = hits if hits.size else np.flatnonzero(gap < current)
        if swaps.size == 0:
            return None
        a, b = divmod(int(swaps[rng.integers(swaps.size)]), len(outside))
        labels[inside[a]], labels[outside[b]] = False, True
        if hits.size:
            return labels
    return None


@dataclass(frozen=True)
class Reconstructions:
    """Cohorts that all reproduce the published aggregates: row k of each array is cohort k."""

    seed: int
    pcl5_pre: np.ndarray  # (cohorts, patients), integer
    pcl5_post: np.ndarray
    psychotherapy: np.ndarray  # boolean
    attempts: np.ndarray  # starting draws each cohort needed

    def __len__(self) -> int:
        return len(self.pcl5_pre)


def count_options(count: int, n: int) -> list[int]:
    """Every count of ``n`` whose whole percentage is the one ``count`` gives (88 of 117: [88]; 72: [72, 73])."""
    from ketamine_ptsd.analysis.consistency import percent_counts

    return percent_counts(round(100 * count / n), n)


def reconstruct_cohort(
    seed_sequence: np.random.SeedSequence, targets: Targets = Targets(), max_steps: int = 5_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """One cohort from its own seed: ``(pcl5_pre, pcl5_post, psychotherapy, attempts)``.

    The counts of clinically significant change and remission may be any count that rounds to the same
    whole percentage as ``targets``' counts (:func:`count_options`). Draws again from the same random
    stream when a search stalls, so the result depends on the seed sequence alone.
    """
    from ketamine_ptsd.analysis.consistency import grim

    # A mean no whole-number total can give, or an SD no sum of squares can give, is no search's fault.
    for mean, sd in ((targets.pre_mean, targets.pre_sd), (targets.post_mean, targets.post_sd)):
        window = targets.ss_window(mean, sd)
        if not grim(mean, targets.n, targets.decimals) or window[0] > window[1]:
            raise ReconstructionError(f"no {targets.n} whole numbers have mean {mean} and SD {sd}")
    rng = np.random.default_rng(seed_sequence)
    options = [count_options(c, targets.n) for c in (targets.n_clinically_significant, targets.n_remission)]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        # Any count that rounds to the published percentage will do: each draw picks one.
        counts = [int(rng.choice(o)) for o in options]
        attempt_targets = replace(targets, n_clinically_significant=counts[0], n_remission=counts[1])
        scores = _try_scores(attempt_targets, rng, max_steps)
        if scores is None:
            continue
        pre, post = scores
        labels = _psychotherapy_labels((pre - post).astype("float64"), targets, rng)
        if labels is not None:
            return pre, post, labels, attempt
    raise ReconstructionError(f"no cohort met every constraint in {MAX_ATTEMPTS} starting draws")


def _reconstruct_chunk(args) -> list:
    children, targets = args
    return [reconstruct_cohort(child, targets) for child in children]


def reconstruct_many(
    n_cohorts: int, seed: int = DEFAULT_SEED, targets: Targets = Targets(), jobs: int = 1
) -> Reconstructions:
    """``n_cohorts`` cohorts, each meeting every published constraint exactly.

    Cohort k comes from ``numpy.random.SeedSequence(seed).spawn(n_cohorts)[k]``: the same seed gives the
    same cohorts, cohort k does not depend on how many are made, and ``jobs`` processes share the work
    without changing the result.
    """
    if n_cohorts < 1:
        raise ValueError("n_cohorts must be at least 1")
    children = np.random.SeedSequence(seed).spawn(n_cohorts)
    if jobs <= 1 or n_cohorts < 2 * jobs:
        made = _reconstruct_chunk((children, targets))
    else:
        from concurrent.futures import ProcessPoolExecutor

        size = -(-n_cohorts // (4 * jobs))  # a few chunks per process evens out slow cohorts
        chunks = [(children[k : k + size], targets) for k in range(0, n_cohorts, size)]
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            made = [cohort for part in pool.map(_reconstruct_chunk, chunks) for cohort in part]
    pre, post, labels, attempts = zip(*made)
    return Reconstructions(seed, np.stack(pre), np.stack(post), np.stack(labels), np.array(attempts))


#: Columns of :func:`reconstruction_statistics`, one row per cohort.
STATISTICS_COLUMNS = (
    "cohort",
    "seed",
    "attempts",
    "pre_mean",
    "pre_sd",
    "post_mean",
    "post_sd",
    "r_pre_post",
    "mean_change",
    "change_sd",
    "change_ci_low",
    "change_ci_high",
    "t",
    "df",
    "p",
    "d_av",
    "d_z",
    "reliable_change_threshold",
    "pct_clinically_significant",
    "pct_reliable_improvement",
    "pct_response",
    "pct_remission",
    "n_psychotherapy",
    "psychotherapy_d",
    "psychotherapy_d_ci_low",
    "psychotherapy_d_ci_high",
    "psychotherapy_p",
)


def reconstruction_statistics(
    rec: Reconstructions,
    mcid: float = DEFAULTS["mcid"],
    reliability: float = DEFAULTS["reliability"],
    response_fraction: float = DEFAULTS["response_fraction"],
    remission_cutoff: float = DEFAULTS["remission_cutoff"],
    ci_level: float = DEFAULTS["ci_level"],
) -> pd.DataFrame:
    """Per cohort, the statistics the report computes, under the same names and definitions.

    Vectorised over cohorts: each column equals what :func:`ketamine_ptsd.analysis.stats.paired_outcome`,
    :func:`~ketamine_ptsd.analysis.stats.clinical_significance` and :func:`~ketamine_ptsd.analysis.stats.psychotherapy_contrast`
    give for that cohort (the tests check it), without their per-cohort cost.
    """
    from scipy import stats as sps

    pre = rec.pcl5_pre.astype("float64")
    post = rec.pcl5_post.astype("float64")
    change = pre - post
    k, n = change.shape
    df = n - 1
    pre_sd, post_sd = pre.std(axis=1, ddof=1), post.std(axis=1, ddof=1)
    mean_change, change_sd = change.mean(axis=1), change.std(axis=1, ddof=1)
    half = sps.t.ppf(0.5 + ci_level / 2, df) * change_sd / np.sqrt(n)
    t = mean_change / (change_sd / np.sqrt(n))
    covariance = ((pre - pre.mean(axis=1, keepdims=True)) * (post - post.mean(axis=1, keepdims=True))).sum(axis=1) / df
    rct = np.array([stats.reliable_change_threshold(sd, reliability) for sd in pre_sd])

    # Psychotherapy: Cohen's d_s over the pooled SD of change, Student's t, noncentral-t interval.
    labels = rec.psychotherapy
    n1 = labels.sum(axis=1)
    n0 = n - n1
    m1 = np.where(labels, change, 0).sum(axis=1) / n1
    m0 = np.where(~labels, change, 0).sum(axis=1) / n0
    ss1 = np.where(labels, (change - m1[:, None]) ** 2, 0).sum(axis=1)
    ss0 = np.where(~labels, (change - m0[:, None]) ** 2, 0).sum(axis=1)
    d = (m1 - m0) / np.sqrt((ss1 + ss0) / (n - 2))
    scale = np.sqrt(1 / n1 + 1 / n0)
    t_groups = d / scale
    ci = [stats.noncentral_t_ci(float(tg), n - 2, ci_level) for tg in t_groups]

    return pd.DataFrame(
        {
            "cohort": np.arange(k),
            "seed": rec.seed,
            "attempts": rec.attempts,
            "pre_mean": pre.mean(axis=1),
            "pre_sd": pre_sd,
            "post_mean": post.mean(axis=1),
            "post_sd": post_sd,
            "r_pre_post": covariance / (pre_sd * post_sd),
            "mean_change": mean_change,
            "change_sd": change_sd,
            "change_ci_low": mean_change - half,
            "change_ci_high": mean_change + half,
            "t": t,
            "df": df,
            "p": 2 * sps.t.sf(np.abs(t), df),
            "d_av": mean_change / np.sqrt((pre_sd**2 + post_sd**2) / 2),
            "d_z": mean_change / change_sd,
            "reliable_change_threshold": rct,
            "pct_clinically_significant": 100 * (change >= mcid).mean(axis=1),
            "pct_reliable_improvement": 100 * (change > rct[:, None]).mean(axis=1),
            "pct_response": 100 * (change >= response_fraction * pre).mean(axis=1),
            "pct_remission": 100 * (post < remission_cutoff).mean(axis=1),
            "n_psychotherapy": n1,
            "psychotherapy_d": d,
            "psychotherapy_d_ci_low": np.array([lo for lo, _ in ci]) * scale,
            "psychotherapy_d_ci_high": np.array([hi for _, hi in ci]) * scale,
            "psychotherapy_p": 2 * sps.t.sf(np.abs(t_groups), n - 2),
        },
        columns=list(STATISTICS_COLUMNS),
    )


#: Claims whose percentages every reconstructed cohort must reproduce: clinically significant change
#: (a drop of at least ``Targets.mcid``) and remission (a score below ``Targets.remission_cutoff``).
PERCENT_CLAIMS = ("pct_clinically_significant_published", "pct_remission_published")


def meets_constraints(
    pre: np.ndarray, post: np.ndarray, psychotherapy: np.ndarray, targets: Targets, claims: list[dict]
) -> bool:
    """Whether one cohort meets every published constraint, checked from its scores.

    An independent check of the search: it recomputes each aggregate from the scores and compares it
    with the report's rounding rule (:func:`ketamine_ptsd.analysis.consistency.rounds_to`), and takes the two
    percentages from the claims themselves rather than from the head counts in ``targets``, so any count
    that rounds to a published percentage passes.

    Parameters
    ----------
    pre, post : numpy.ndarray
        Whole-number PCL-5 totals before and after treatment, one per patient.
    psychotherapy : numpy.ndarray of bool
        Whether each patient had psychotherapy.
    targets : Targets
        Means, SDs and psychotherapy d (at ``targets.decimals``), score bounds (``pre_min``,
        ``score_max``, and 0 after treatment) and the thresholds ``mcid`` and ``remission_cutoff``.
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`; must hold the ids in :data:`PERCENT_CLAIMS`.

    Returns
    -------
    bool
        True when the means and SDs round to their targets, the shares with a drop of at least ``mcid``
        and with ``post`` below ``remission_cutoff`` round to the published percentages, every score is
        within its bounds, and Cohen's d_s of the change (psychotherapy against the rest, pooled SD) rounds
        to ``targets.psychotherapy_d``.
    """
    from ketamine_ptsd.analysis.consistency import rounds_to

    by_id = {claim["id"]: claim for claim in claims}
    cs, remission = (by_id[name] for name in PERCENT_CLAIMS)
    change = (pre - post).astype("float64")
    a, b = change[psychotherapy], change[~psychotherapy]
    d = (a.mean() - b.mean()) / stats.pooled_sd(a, b)
    return bool(
        rounds_to(pre.mean(), targets.pre_mean, targets.decimals)
        and rounds_to(post.mean(), targets.post_mean, targets.decimals)
        and rounds_to(pre.std(ddof=1), targets.pre_sd, targets.decimals)
        and rounds_to(post.std(ddof=1), targets.post_sd, targets.decimals)
        and rounds_to(100 * np.mean(change >= targets.mcid), cs["value"], cs["decimals"])
        and rounds_to(100 * np.mean(post < targets.remission_cutoff), remission["value"], remission["decimals"])
        and pre.min() >= targets.pre_min
        and pre.max() <= targets.score_max
        and post.min() >= 0
        and post.max() <= targets.score_max
        and rounds_to(d, targets.psychotherapy_d, targets.decimals)
    )


#: Columns of :func:`reconstruction_statistics` the paper did not report, with labels for the report.
UNREPORTED = {
    "r_pre_post": "pre-post correlation r",
    "change_sd": "SD of the change (points)",
    "d_z": "d_z (mean change / SD of change)",
    "t": "paired t",
    "change_ci_low": "CI of the mean change: lower end (points)",
    "change_ci_high": "CI of the mean change: upper end (points)",
    "pct_reliable_improvement": "reliable improvement (% of patients)",
    "pct_response": "response (% of patients)",
    "psychotherapy_d_ci_low": "psychotherapy d: CI lower end",
    "psychotherapy_d_ci_high": "psychotherapy d: CI upper end",
    "psychotherapy_p": "psychotherapy p (two-sample t test)",
}


def spread_table(spread: pd.DataFrame, results: dict) -> pd.DataFrame:
    """Lowest, median and highest of each :data:`UNREPORTED` quantity across cohorts, beside one cohort's.

    Parameters
    ----------
    spread : pandas.DataFrame
        From :func:`reconstruction_statistics`.
    results : dict
        One cohort's results under the same names (e.g. the book's ``results.json`` values); a name that
        is absent or None gives NaN.

    Returns
    -------
    pandas.DataFrame
        One row per quantity: ``quantity`` (its label), ``lowest``, ``median``, ``highest`` and
        ``this book's cohort``.
    """
    return pd.DataFrame(
        [
            {
                "quantity": label,
                "lowest": spread[key].min(),
                "median": spread[key].median(),
                "highest": spread[key].max(),
                "this book's cohort": np.nan if results.get(key) is None else float(results[key]),
            }
            for key, label in UNREPORTED.items()
        ]
    )


def long_format(rec: Reconstructions) -> pd.DataFrame:
    """The cohorts themselves, one row per patient: ``cohort``, ``patient``, scores and psychotherapy."""
    k, n = rec.pcl5_pre.shape
    return pd.DataFrame(
        {
            "cohort": np.repeat(np.arange(k), n),
            "patient": np.tile(np.arange(1, n + 1), k),
            "pcl5_pre": rec.pcl5_pre.ravel(),
            "pcl5_post": rec.pcl5_post.ravel(),
            "psychotherapy": rec.psychotherapy.ravel(),
        }
    )
