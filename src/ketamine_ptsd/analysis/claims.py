"""The study's published claims, compared with recomputed results and checked for consistency.

The claims live in ``data/published_claims.yml`` (one entry per number or statement
that public sources make about the study, with its source), loaded and checked by
:func:`ketamine_ptsd.data.references.load_claims`. This module compares them with a
``results.json`` dictionary, runs the consistency checks of
:mod:`ketamine_ptsd.analysis.consistency` on the published numbers, and lists where the
sources disagree. It returns values; :mod:`ketamine_ptsd.presentation.claims_text` writes
the notes, details and explanations a reader sees.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import pandas as pd

from ketamine_ptsd.analysis import adverse_events, consistency, describe, durability, stats, summary_effects
from ketamine_ptsd.analysis.privacy import SUPPRESSED_KEY
from ketamine_ptsd.analysis.values import plain
from ketamine_ptsd.parameters import DEFAULTS

__all__ = [
    "MEANS_AND_SDS",
    "recomputed_results",
    "compare_claims",
    "suppressed_paths",
    "consistency_report",
    "conflicts",
    "d_av_check",
    "explain_differences",
    "change_sd_bound",
]

# PCL-5 totals run from 0 to 80 (20 items scored 0-4): the bounds GRIMMER may use.
_PCL5_MIN, _PCL5_MAX = 0, 80

#: Claims behind the pre and post means and SDs that the bundled cohort and the reconstructions reproduce:
#: the published means with the preprint SDs (the published version's SDs are not public).
MEANS_AND_SDS = ("pre_mean_published", "pre_sd_preprint", "post_mean_published", "post_sd_preprint")


def _holds(value: float, claim: dict) -> bool:
    """Whether the recomputed value satisfies the claim
    (:func:`ketamine_ptsd.presentation.claims_text.condition` says the condition in words)."""
    kind = claim["kind"]
    low, high = claim.get("low"), claim.get("high")
    if kind in ("number", "percent"):
        return consistency.rounds_to(value, claim["value"], claim["decimals"])
    if kind == "at_least":
        return value >= low
    if kind == "more_than":
        return value > low
    if kind == "at_most":
        return value <= high
    if kind == "less_than":
        return value < high
    if kind == "range":
        return low <= value < high
    if kind == "verdict":
        return value == claim["expected"]
    raise ValueError(f"{claim['id']}: kind {kind!r} has no condition")


def adjusted_key(key: str | None) -> str | None:
    """The ``results.json`` key of a p-value after the book's multiplicity adjustment, or ``None`` when the
    p-value belongs to no adjusted family: moderators are Holm-adjusted over the moderators tested."""
    if key and key.startswith("moderator_p_") and not key.startswith("moderator_p_holm_"):
        return "moderator_p_holm_" + key.removeprefix("moderator_p_")
    return None


def _accepted(claim: dict) -> tuple[float, bool, float, bool]:
    """Values the claim admits, as ``(low, low_included, high, high_included)``."""
    kind, low, high = claim["kind"], claim.get("low"), claim.get("high")
    if kind in ("number", "percent"):
        half = 0.5 * 10 ** -claim["decimals"]
        return claim["value"] - half, True, claim["value"] + half, True
    return {
        "at_least": (low, True, math.inf, False),
        "more_than": (low, False, math.inf, False),
        "at_most": (-math.inf, False, high, True),
        "less_than": (-math.inf, False, high, False),
        "range": (low, True, high, False),
    }[kind]


def _incompatible(a: dict, b: dict) -> bool:
    """Whether no single value can satisfy both claims."""
    a_low, a_low_in, a_high, a_high_in = _accepted(a)
    b_low, b_low_in, b_high, b_high_in = _accepted(b)
    if a_high < b_low or b_high < a_low:
        return True
    if a_high == b_low:
        return not (a_high_in and b_low_in)
    if b_high == a_low:
        return not (b_high_in and a_low_in)
    return False


def _rivals(claim: dict, claims: list[dict]) -> list[dict]:
    """Claims of other versions about the same quantity that cannot hold together with this one."""
    key = claim.get("result_key")
    if key is None:
        return []
    return [
        other
        for other in claims
        if other is not claim
        and other.get("result_key") == key
        and other["version"] != claim["version"]
        and _incompatible(claim, other)
    ]


def recomputed_results(
    cohort: pd.DataFrame,
    *,
    mcid: float,
    reliability: float,
    response_fraction: float,
    remission_cutoff: float,
    ci_level: float,
    min_cell: int,
    assessments: pd.DataFrame | None = None,
    durability_margin: float | None = None,
    durability_random_slope_min_patients: int = DEFAULTS["durability_random_slope_min_patients"],
) -> dict:
    """Every result a claim can be compared with, computed and suppressed as the results chapters do.

    The same functions with the same arguments as the cohort, primary outcome, clinical significance and
    moderators chapters, so a key has the value it has in ``results.json``: the cohort summary
    (:func:`ketamine_ptsd.analysis.describe.cohort_summary`), the paired outcome, the shares meeting each definition of
    improvement, the moderator p-values (:func:`ketamine_ptsd.analysis.stats.moderator_table` with ``min_cell``) and
    the psychotherapy contrast, each through the function that applies the small-cell rule for its chapter
    (:func:`ketamine_ptsd.analysis.stats.suppressed_outcome`, :func:`~ketamine_ptsd.analysis.stats.suppressed_rates`,
    :func:`~ketamine_ptsd.analysis.stats.suppressed_contrast`).

    Parameters
    ----------
    cohort : pandas.DataFrame
        The validated cohort.
    mcid, reliability, response_fraction, remission_cutoff, ci_level : float
        The build's parameters.
    min_cell : int
        Values resting on 1 to ``min_cell - 1`` patients are None (0 turns the rule off).
    assessments : pandas.DataFrame, optional
        The later assessments (:func:`ketamine_ptsd.data.long.later_assessments`), for the durability values;
        without them those values are absent, as without follow-up data. The adverse-event values come
        from the cohort (:func:`ketamine_ptsd.analysis.adverse_events.adverse_event_rates`).
    durability_margin, durability_random_slope_min_patients
        The build's parameters of the durability verdict and model (:func:`ketamine_ptsd.analysis.durability.margin`).

    Returns
    -------
    dict
        The results by their ``results.json`` names, and under ``"suppressed"`` the names of the values
        the small-cell rule set to None.
    """
    results: dict = {}
    hidden: list[str] = []

    def add(values: dict) -> None:
        values = dict(values)
        hidden.extend(values.pop(SUPPRESSED_KEY, []))
        results.update(values)

    add(describe.cohort_summary(cohort, min_cell))
    add(stats.suppressed_outcome(cohort, ci_level, min_cell))
    add(stats.suppressed_rates(cohort, mcid, reliability, response_fraction, remission_cutoff, min_cell))
    moderators = stats.moderator_table(cohort, ci_level=ci_level, min_cell=min_cell)
    for row in moderators.itertuples():
        for key, value in ((f"moderator_p_{row.moderator}", row.p), (f"moderator_p_holm_{row.moderator}", row.p_holm)):
            results[key] = plain(value)
            if row.suppressed:
                hidden.append(key)
    add(stats.suppressed_contrast(cohort, ci_level, min_cell))
    add(adverse_events.adverse_event_rates(cohort, ci_level, min_cell))
    if assessments is not None:
        margin = durability.margin(durability_margin, mcid)
        add(
            durability.durability_values(
                cohort, assessments, response_fraction, ci_level, min_cell, margin, durability_random_slope_min_patients
            )
        )
    results[SUPPRESSED_KEY] = hidden
    return results


def compare_claims(claims: list[dict], results: dict, by_construction: Collection[str] = ()) -> list[dict]:
    """Compare each published claim with a recomputed value.

    Parameters
    ----------
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`.
    results : dict
        Flat results with the contract's ``results.json`` keys; the names under ``"suppressed"`` (as
        :func:`recomputed_results` lists them) were hidden by the small-cell rule.
    by_construction : collection of str
        Ids of the claims the cohort was generated to reproduce (:func:`generated_to_match`): a match there
        is arithmetic, not evidence.

    Returns
    -------
    list of dict
        Per claim: ``id``, ``claim`` (its meaning), ``source``, ``recomputed``
        (unrounded, or None), ``status`` (``"matches"``, ``"differs"`` or
        ``"not computable"``), ``rivals`` (ids of claims from other versions that
        no single value can satisfy together with this one), ``by_construction``
        (the cohort was generated to reproduce the claim), ``p_adjusted`` and
        ``holds_after_adjustment`` for a claim about a p-value of an adjusted
        family (:func:`adjusted_key`; ``None`` for other claims or without an
        adjusted value), and ``suppressed`` (the small-cell rule hid the value).
        :func:`ketamine_ptsd.presentation.claims_text.claim_rows` adds the value
        as published, the recomputed one as shown and the note.

    Notes
    -----
    A number or percentage matches when the recomputed value rounds to the
    stated one at its reported precision (half up or half to even). A claim in
    words matches when its condition holds, e.g. "most were women" when
    ``pct_women > 50`` and "not significant" when ``p >= .05``. A claim whose
    value is suppressed is not computable, its recomputed value None.
    """
    hidden = set(results.get(SUPPRESSED_KEY, ()))
    rows = []
    for claim in claims:
        key = claim.get("result_key")
        suppressed = key is not None and key in hidden
        # A suppressed value could be computed but rests on so few patients that it is not published.
        value = plain(results.get(key)) if key is not None and not suppressed else None
        if value is None:
            status = "not computable"
        else:
            status = "matches" if _holds(value, claim) else "differs"
        p_adjusted = plain(results.get(adjusted_key(key))) if status != "not computable" else None
        rows.append(
            {
                "id": claim["id"],
                "claim": claim["meaning"],
                "source": claim["source"],
                "recomputed": value,
                "status": status,
                "rivals": [other["id"] for other in _rivals(claim, claims)],
                "by_construction": status == "matches" and claim["id"] in by_construction,
                "p_adjusted": p_adjusted,
                "holds_after_adjustment": None if p_adjusted is None else bool(_holds(p_adjusted, claim)),
                "suppressed": suppressed,
            }
        )
    return rows


def generated_to_match(data_origin: str) -> frozenset[str]:
    """Ids of the claims the cohort was generated to reproduce: the bundled reconstruction's targets
    (:data:`ketamine_ptsd.analysis.reconstruction.TARGETED_CLAIMS`), none for anyone else's data."""
    from ketamine_ptsd.analysis.reconstruction import TARGETED_CLAIMS

    return frozenset(TARGETED_CLAIMS) if data_origin == "synthetic" else frozenset()


def claim_counts(rows: list[dict]) -> dict:
    """The claims summary by its ``results.json`` names.

    ``n_claims_matching`` counts every match; of them, ``n_claims_by_construction`` were generated to match
    and ``n_claims_matching_only_unadjusted`` hold only before the multiplicity adjustment.
    ``n_claims_supported`` are the matches the data could have contradicted and that hold after adjustment.
    """
    matching = [row for row in rows if row["status"] == "matches"]
    only_unadjusted = [row for row in matching if row["holds_after_adjustment"] is False]
    return {
        "n_claims": len(rows),
        "n_claims_matching": len(matching),
        "n_claims_differing": sum(row["status"] == "differs" for row in rows),
        "n_claims_not_computable": sum(row["status"] == "not computable" for row in rows),
        "n_claims_by_construction": sum(row["by_construction"] for row in matching),
        "n_claims_matching_only_unadjusted": len(only_unadjusted),
        "n_claims_supported": sum(
            not row["by_construction"] and row["holds_after_adjustment"] is not False for row in matching
        ),
    }


def suppressed_paths(claims: list[dict], results: dict, name: str = "claims") -> list[str]:
    """Paths (``name[i].recomputed``) of the rows of :func:`compare_claims` whose value the small-cell rule
    hid, for :func:`ketamine_ptsd.presentation.results.record`: ``results.json`` lists them under ``"suppressed"``."""
    hidden = set(results.get(SUPPRESSED_KEY, ()))
    return [f"{name}[{i}].recomputed" for i, claim in enumerate(claims) if claim.get("result_key") in hidden]


def _by_key(claims: list[dict], version: str, key: str) -> dict | None:
    for claim in claims:
        if claim["version"] == version and claim.get("result_key") == key and claim["kind"] == "number":
            return claim
    return None


def _sample_size(claims: list[dict]) -> int:
    for claim in claims:
        if claim.get("result_key") == "n_patients" and claim["kind"] == "number":
            return int(claim["value"])
    raise ValueError("no claim gives the number of patients (result_key n_patients)")


def consistency_report(claims: list[dict]) -> list[dict]:
    """Consistency checks of the published numbers, one row per check.

    GRIM on each reported mean, GRIMMER on each mean and SD reported together
    by one source (PCL-5 totals 0-80), the head-count check on each percentage
    and the d-definition check on each reported d with its source's means and
    SDs. The sample size is the claim with ``result_key: n_patients``.

    Parameters
    ----------
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`.

    Returns
    -------
    list of dict
        Rows ``{check, claim_id, consistent, n, ...}``; ``consistent`` is None when the check cannot be
        run. The numbers behind the verdict follow by check: GRIM ``sums`` (the totals that give the mean);
        GRIMMER ``mean_id`` (the claim of the same source's mean, or None), ``lo`` and ``hi`` (the score
        range); percentage ``counts`` (the head counts that give it); effect size definition ``missing``
        (the means and SDs its source does not report) and, when none is, ``definitions``
        (:func:`ketamine_ptsd.analysis.summary_effects.d_definitions`) and ``found``
        (:func:`ketamine_ptsd.analysis.consistency.closest_to`).
        :func:`ketamine_ptsd.presentation.claims_text.check_rows` writes each row's detail and explanation.
    """
    n = _sample_size(claims)
    rows = []
    for claim in claims:
        if claim["kind"] != "number" or claim.get("result_key") not in ("pre_mean", "post_mean"):
            continue
        sums = consistency.grim_sums(claim["value"], n, claim["decimals"])
        rows.append({"check": "GRIM", "claim_id": claim["id"], "consistent": bool(sums), "n": n, "sums": sums})
    for sd_key, mean_key in (("pre_sd", "pre_mean"), ("post_sd", "post_mean")):
        for sd_claim in (c for c in claims if c.get("result_key") == sd_key and c["kind"] == "number"):
            mean_claim = _by_key(claims, sd_claim["version"], mean_key)
            row = {"check": "GRIMMER", "claim_id": sd_claim["id"], "consistent": None, "n": n, "mean_id": None}
            if mean_claim is not None:
                consistent = consistency.grimmer(
                    mean_claim["value"],
                    sd_claim["value"],
                    n,
                    mean_claim["decimals"],
                    _PCL5_MIN,
                    _PCL5_MAX,
                    sd_claim["decimals"],
                )
                row.update(consistent=consistent, mean_id=mean_claim["id"], lo=_PCL5_MIN, hi=_PCL5_MAX)
            rows.append(row)
    for claim in claims:
        if claim["kind"] != "percent":
            continue
        counts = consistency.percent_counts(claim["value"], n, claim["decimals"])
        rows.append(
            {"check": "percentage", "claim_id": claim["id"], "consistent": bool(counts), "n": n, "counts": counts}
        )
    for claim in claims:
        if claim["kind"] != "number" or claim.get("result_key") != "d_av":
            continue
        parts = {key: _by_key(claims, claim["version"], key) for key in ("pre_mean", "pre_sd", "post_mean", "post_sd")}
        missing = [key for key, part in parts.items() if part is None]
        row = {
            "check": "effect size definition",
            "claim_id": claim["id"],
            "consistent": None,
            "n": n,
            "missing": missing,
        }
        if not missing:
            defs = summary_effects.d_definitions(
                *(parts[key]["value"] for key in ("pre_mean", "pre_sd", "post_mean", "post_sd")),
                n,
                decimals=max(part["decimals"] for part in parts.values()),
            )
            found = consistency.closest_to(claim["value"], defs, claim["decimals"])
            row.update(consistent="d_av" in found["matches"], definitions=defs, found=found)
        rows.append(row)
    return rows


def conflicts(claims: list[dict], entries: list[dict]) -> list[dict]:
    """Where the sources about the study disagree, with both sides.

    Parameters
    ----------
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`.
    entries : list of dict
        From :func:`ketamine_ptsd.data.references.load_conflicts` of the same file.

    Returns
    -------
    list of dict
        Rows ``{id, issue, claim_a, source_a, version_a, claim_b, source_b,
        version_b}``; :func:`ketamine_ptsd.presentation.claims_text.conflicts_table`
        adds each claim as stated.
    """
    by_id = {claim["id"]: claim for claim in claims}
    rows = []
    for entry in entries:
        a_id, b_id = entry["between"]
        a, b = by_id[a_id], by_id[b_id]
        rows.append(
            {
                "id": entry["id"],
                "issue": " ".join(str(entry["issue"]).split()),
                "claim_a": a_id,
                "source_a": a["source"],
                "version_a": a["version"],
                "claim_b": b_id,
                "source_b": b["source"],
                "version_b": b["version"],
            }
        )
    return rows


def d_av_check(claims: list[dict], d_id: str = "d_preprint", inputs: tuple[str, ...] = MEANS_AND_SDS) -> dict:
    """d_av from four claimed means and SDs, and whether it rules out a claimed d.

    d_av follows from the two means and the two SDs, so it is fixed within the rounding of those four
    numbers. A claimed d outside that range cannot come from a cohort that matches all four.

    Parameters
    ----------
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`.
    d_id : str
        Id of the claimed d.
    inputs : tuple of str
        Ids of the pre mean, pre SD, post mean and post SD claims, in that order.

    Returns
    -------
    dict
        ``d_av`` (from the stated values), ``low`` and ``high`` (its extremes over every input that rounds
        to the stated values, at the largest precision among them), ``claim_id`` (``d_id``), ``inputs``
        and ``rules_out``: True when no value in ``[low, high]`` rounds to the claimed d.

    Examples
    --------
    >>> from ketamine_ptsd.data.references import load_claims
    >>> check = d_av_check(load_claims())
    >>> check["rules_out"], round(check["low"], 3), round(check["high"], 3)
    (True, 1.649, 1.652)
    """
    by_id = {claim["id"]: claim for claim in claims}
    d_claim = by_id[d_id]
    pre_mean, pre_sd, post_mean, post_sd = (by_id[i] for i in inputs)
    defs = summary_effects.d_definitions(
        pre_mean["value"],
        pre_sd["value"],
        post_mean["value"],
        post_sd["value"],
        _sample_size(claims),
        decimals=max(by_id[i]["decimals"] for i in inputs),
    )
    low, high = defs["ranges"]["d_av"]
    half = 0.5 * 10 ** -d_claim["decimals"]
    return {
        "d_av": defs["d_av"],
        "low": low,
        "high": high,
        "claim_id": d_id,
        "inputs": tuple(inputs),
        "rules_out": high < d_claim["value"] - half or low > d_claim["value"] + half,
    }


def explain_differences(rows: list[dict], d_check: dict | None = None) -> list[dict]:
    """Why each differing claim differs: another source contradicts it, or the data give another value.

    A difference is a *conflict* when no cohort could match the claim: either a claim of another version
    about the same quantity (a rival) matches instead, or ``d_check`` shows that the claimed d cannot go
    with means and SDs that all match.

    Parameters
    ----------
    rows : list of dict
        From :func:`compare_claims`.
    d_check : dict, optional
        From :func:`d_av_check`.

    Returns
    -------
    list of dict
        One per row with status ``"differs"``, in order: the row with ``kind`` (``"conflict"`` or
        ``"other"``), ``because`` (``"rival"``: another version's claim matches instead, named by ``rival``;
        ``"d_check"``: ``d_check`` rules the claimed d out; None for ``"other"``) and ``rival`` added.
        :func:`ketamine_ptsd.presentation.claims_text.differences` says it in words.
    """
    status_of = {row["id"]: row["status"] for row in rows}
    out = []
    for row in rows:
        if row["status"] != "differs":
            continue
        matched_rivals = [r for r in row["rivals"] if status_of.get(r) == "matches"]
        d_ruled_out = (
            d_check is not None
            and row["id"] == d_check["claim_id"]
            and d_check["rules_out"]
            and all(status_of[i] == "matches" for i in d_check["inputs"])
        )
        if matched_rivals:
            out.append({**row, "kind": "conflict", "because": "rival", "rival": matched_rivals[0]})
        elif d_ruled_out:
            out.append({**row, "kind": "conflict", "because": "d_check", "rival": None})
        else:
            out.append({**row, "kind": "other", "because": None, "rival": None})
    return out


def change_sd_bound(
    claims: list[dict],
    mcid: float,
    percent_id: str = "pct_clinically_significant_published",
    inputs: tuple[str, ...] = MEANS_AND_SDS,
) -> dict:
    """How far a published share of clinically significant change caps the pre-post correlation.

    Patients without a clinically significant change improved by at most ``ceil(mcid) - 1`` points
    (whole-number scores), which puts a floor under the SD of the change
    (:func:`ketamine_ptsd.analysis.summary_effects.change_sd_floor`) whatever the raw data, and so caps r, d_z and t.
    Of the head counts that round to the percentage, the largest leaves the fewest patients below the
    threshold: the weakest floor. The mean change is exact, because each published mean has one
    whole-number total (GRIM).

    Parameters
    ----------
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`.
    mcid : float
        Threshold of a clinically significant change, in points.
    percent_id : str
        Id of the claimed percentage with a clinically significant change.
    inputs : tuple of str
        Ids of the pre mean, pre SD, post mean and post SD claims, in that order.

    Returns
    -------
    dict
        ``n``, ``percent_id``, ``n_not_clinically_significant``, ``mean_change``,
        ``change_sd_floor`` (0 when the count rules nothing out), and ``r_max``, ``d_z_max`` and ``t_max``
        (None when the floor is 0).

    Raises
    ------
    ValueError
        When no head count gives the percentage, or a mean has no unique whole-number total.

    Examples
    --------
    >>> from ketamine_ptsd.data.references import load_claims
    >>> bound = change_sd_bound(load_claims(), 10)
    >>> bound["n_not_clinically_significant"], round(bound["change_sd_floor"], 2)
    (29, 8.51)
    """
    by_id = {claim["id"]: claim for claim in claims}
    n = _sample_size(claims)
    percent = by_id[percent_id]
    counts = consistency.percent_counts(percent["value"], n, percent["decimals"])
    if not counts:
        raise ValueError(f"{percent_id}: no count of {n} gives {percent['value']:g}%")
    n_not = n - max(counts)
    pre_mean, pre_sd, post_mean, post_sd = (by_id[i] for i in inputs)
    totals = [consistency.grim_sums(claim["value"], n, claim["decimals"]) for claim in (pre_mean, post_mean)]
    if any(len(sums) != 1 for sums in totals):
        raise ValueError(f"the means {pre_mean['id']} and {post_mean['id']} need one whole-number total each")
    mean_change = (totals[0][0] - totals[1][0]) / n
    floor = summary_effects.change_sd_floor(mean_change, n, n_not, math.ceil(mcid) - 1)
    sd_pre, sd_post = pre_sd["value"], post_sd["value"]
    return {
        "n": n,
        "percent_id": percent_id,
        "n_not_clinically_significant": n_not,
        "mean_change": mean_change,
        "change_sd_floor": floor,
        # SD_change^2 = SD_pre^2 + SD_post^2 - 2 r SD_pre SD_post, solved for r at the floor.
        "r_max": (sd_pre**2 + sd_post**2 - floor**2) / (2 * sd_pre * sd_post) if floor else None,
        "d_z_max": mean_change / floor if floor else None,
        "t_max": mean_change / floor * math.sqrt(n) if floor else None,
    }
