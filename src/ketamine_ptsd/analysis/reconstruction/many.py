"""Many reconstructions: cohorts that all reproduce every published number, each from its own seed.

:func:`reconstruct_many` makes them (scores and psychotherapy labels); how far the statistics the paper did
not report spread across them (:mod:`.spread`) is how much those depend on the unpublished data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis import outcomes
from ketamine_ptsd.analysis.effects import d_s, pooled_sd_from_sums
from ketamine_ptsd.analysis.reconstruction.bundled import fit_sum
from ketamine_ptsd.analysis.reconstruction.targets import DEFAULT_SEED, ReconstructionError, Targets

#: Latent pre-post correlation of each cohort's starting draw, uniform over this range (the grid of
#: :func:`ketamine_ptsd.analysis.summary_effects.r_range_for`). The paper does not report the correlation, so starting
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
            cs_now = outcomes.clinically_significant(pre - x, mcid)
            rem_now = outcomes.remission(x, cutoff)
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
            cs_up = outcomes.clinically_significant(pre - up, mcid).astype(np.int64) - cs_now
            cs_down = outcomes.clinically_significant(pre - down, mcid).astype(np.int64) - cs_now
            rem_up = outcomes.remission(up, cutoff).astype(np.int64) - rem_now
            rem_down = outcomes.remission(down, cutoff).astype(np.int64) - rem_now
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
        fit_sum(pre, t.sum_for(t.pre_mean), t.pre_min, t.score_max, rng)
        fit_sum(post, t.sum_for(t.post_mean), 0, t.score_max, rng)
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
    pooled = pooled_sd_from_sums(q1 - s1 * s1 / n1, q0 - s0 * s0 / n0, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return d_s(s1 / n1, s0 / n0, pooled)


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
