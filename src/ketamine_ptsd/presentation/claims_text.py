"""The "Reproducing the paper" chapter in words and tables: written from the claims compared, the
consistency checks and the reconstructions, which :mod:`ketamine_ptsd.analysis.claims`,
:mod:`ketamine_ptsd.analysis.consistency`, :mod:`ketamine_ptsd.analysis.summary_effects` and
:mod:`ketamine_ptsd.analysis.reconstruction` compute."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis.privacy import SUPPRESSED_TEXT
from ketamine_ptsd.analysis.summary_effects import D_NAMES
from ketamine_ptsd.presentation import consistency_text, glossary
from ketamine_ptsd.presentation.prose import format_p

#: The verdict a reader sees for a matching claim that the data were generated to match, or that holds only
#: before the multiplicity adjustment (``results.json`` keeps the three statuses and flags these apart).
BY_CONSTRUCTION = "reproduced by construction"
UNADJUSTED_ONLY = "matches only unadjusted"


def stated(claim: Mapping) -> str:
    """The claim's value as the source states it (trailing zeros kept).

    >>> stated({"kind": "number", "value": 11.9, "decimals": 2})
    '11.90'
    >>> stated({"kind": "percent", "value": 75, "decimals": 0})
    '75%'
    """
    value, decimals = claim["value"], claim.get("decimals")
    if claim["kind"] == "number":
        return f"{value:.{decimals}f}"
    if claim["kind"] == "percent":
        return f"{value:.{decimals}f}%"
    return str(value)


def _is_p(key: str) -> bool:
    return key == "p" or key.endswith("_p") or key.startswith("moderator_p_")


def recomputed_text(value: float | str, claim: Mapping) -> str:
    """A recomputed value rounded to the claim's precision, as text; a p-value as :func:`format_p` writes it.

    >>> recomputed_text(0.0341, {"result_key": "moderator_p_age", "kind": "less_than"})
    'p = .034'
    """
    key, kind, decimals = claim["result_key"], claim["kind"], claim.get("decimals")
    if kind == "number":
        return f"{value:.{decimals}f}"
    if kind == "percent":
        return f"{value:.{decimals}f}%"
    if _is_p(key):
        return f"p {format_p(value)}"
    if key.startswith("pct_"):
        return f"{value:.1f}%"
    if key.startswith("n_"):
        return f"{value:.0f}"
    if key == "durability_slope_per_month":
        return f"{value:+.2f} points per month"
    if isinstance(value, str):
        return value
    return f"{value:.2f}"


def condition(claim: Mapping) -> str:
    """What a claim needs of the recomputed value, in words (``_holds`` in :mod:`ketamine_ptsd.analysis.claims`
    tests it).

    >>> condition({"kind": "range", "low": 60, "high": 70})
    'from 60 up to (not including) 70'
    """
    kind, low, high = claim["kind"], claim.get("low"), claim.get("high")
    if kind in ("number", "percent"):
        return f"rounds to {stated(claim)}"
    if kind == "at_least":
        return f"at least {low:g}"
    if kind == "more_than":
        return f"more than {low:g}"
    if kind == "at_most":
        return f"at most {high:g}"
    if kind == "less_than":
        return f"less than {high:g}"
    if kind == "range":
        return f"from {low:g} up to (not including) {high:g}"
    return f"the verdict {claim['expected']!r}"


def _note(row: Mapping, claim: Mapping, by_id: Mapping, min_cell: int | None) -> str:
    """Why a compared claim has its status, then what else a reader should know about it."""
    key = claim.get("result_key")
    if row["suppressed"]:
        fewer = f"fewer than {min_cell} patients" if min_cell else "a group too small to publish"
        notes = [f"Not computable: suppressed ({fewer})."]
    elif row["recomputed"] is None and claim.get("why_not"):
        # Without a result key, or the data usually lack it (follow-up, adverse events).
        notes = [f"Not computable ({claim['why_not'].rstrip('.')})."]
    elif row["recomputed"] is None:
        notes = [f"The results have no value for {key}: the data lack what it needs."]
    elif claim["kind"] in ("number", "percent"):
        notes = [f"Recomputed {recomputed_text(row['recomputed'], claim)}; the claim states {stated(claim)}."]
    else:
        verb = "which" if row["status"] == "matches" else "but the claim needs a value that"
        notes = [f"Recomputed {recomputed_text(row['recomputed'], claim)}, {verb} is {condition(claim)}."]
    notes += [
        f"The {by_id[other]['version']} version states {stated(by_id[other])} ({other}); one cohort can match at "
        "most one of the two."
        for other in row["rivals"]
    ]
    if row["holds_after_adjustment"] is not None:
        verdict = "holds" if row["holds_after_adjustment"] else "does not hold"
        notes.append(
            f"After Holm adjustment over the moderators tested, {recomputed_text(row['p_adjusted'], claim)}: "
            f"the claim {verdict}."
        )
    if row["by_construction"]:
        notes.append("The cohort was generated to reproduce this claim, so the match is by construction.")
    if claim.get("note"):
        notes.append(claim["note"])
    return " ".join(notes)


def claim_rows(compared: Sequence[Mapping], claims: Sequence[Mapping], min_cell: int | None = None) -> list[dict]:
    """The claims compared, as ``results.json`` records them: each with its value as published, the
    recomputed value as shown and the note that says why its status is what it is.

    Parameters
    ----------
    compared : sequence of dict
        From :func:`ketamine_ptsd.analysis.claims.compare_claims`.
    claims : sequence of dict
        The claims compared (:func:`ketamine_ptsd.data.references.load_claims`).
    min_cell : int, optional
        The small-cell rule's threshold, for the note of a suppressed claim.

    Returns
    -------
    list of dict
        Per claim: ``id``, ``claim``, ``source``, ``published`` (as stated), ``recomputed``,
        ``recomputed_display`` (rounded to the claim's precision, "suppressed", or None), ``status``,
        ``rivals``, ``note``, ``by_construction``, ``p_adjusted`` and ``holds_after_adjustment``.
    """
    by_id = {claim["id"]: claim for claim in claims}
    rows = []
    for row in compared:
        claim = by_id[row["id"]]
        if row["suppressed"]:
            display = SUPPRESSED_TEXT
        else:
            display = None if row["recomputed"] is None else recomputed_text(row["recomputed"], claim)
        rows.append(
            {
                "id": row["id"],
                "claim": row["claim"],
                "source": row["source"],
                "published": stated(claim),
                "recomputed": row["recomputed"],
                "recomputed_display": display,
                "status": row["status"],
                "rivals": row["rivals"],
                "note": _note(row, claim, by_id, min_cell),
                "by_construction": row["by_construction"],
                "p_adjusted": row["p_adjusted"],
                "holds_after_adjustment": row["holds_after_adjustment"],
            }
        )
    return rows


def shown_status(row: Mapping) -> str:
    """A claim's verdict for the reader: its status, with a match by construction or only before adjustment
    named as such."""
    if row["status"] == "matches" and row.get("by_construction"):
        return BY_CONSTRUCTION
    if row["status"] == "matches" and row.get("holds_after_adjustment") is False:
        return UNADJUSTED_ONLY
    return row["status"]


def shown_value(row: Mapping) -> str | None:
    """The recomputed value as shown; a p-value with an adjusted one beside it, each with whether the claim
    holds (e.g. "✓ p = .034 unadjusted; ✗ p = .206 after Holm adjustment over the moderators tested")."""
    if row.get("p_adjusted") is None:
        return row["recomputed_display"]
    mark = {True: "✓", False: "✗"}
    return (
        f"{mark[row['status'] == 'matches']} p {format_p(row['recomputed'])} unadjusted; "
        f"{mark[row['holds_after_adjustment']]} p {format_p(row['p_adjusted'])} after Holm adjustment over the "
        "moderators tested"
    )


def comparison_table(rows: list[dict]) -> pd.DataFrame:
    """The claims compared with recomputed values, as a table for the report.

    Parameters
    ----------
    rows : list of dict
        From :func:`ketamine_ptsd.analysis.claims.compare_claims`.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim``, ``source``, ``published``, ``recomputed`` (rounded to the claim's precision,
        :func:`shown_value`), ``status`` (:func:`shown_status`) and ``why`` (the row's note).
    """
    table = pd.DataFrame(rows, columns=["claim", "source", "published", "note"])
    table.insert(3, "recomputed", [shown_value(row) for row in rows])
    table.insert(4, "status", [shown_status(row) for row in rows])
    return table.rename(columns={"note": "why"})


def conflicts_table(rows: list[dict], claims: Sequence[Mapping]) -> pd.DataFrame:
    """Where the sources disagree, as a table for the report: each side as stated, with its version and source.

    Parameters
    ----------
    rows : list of dict
        From :func:`ketamine_ptsd.analysis.claims.conflicts`.
    claims : sequence of dict
        The claims ``rows`` name (:func:`ketamine_ptsd.data.references.load_claims`).

    Returns
    -------
    pandas.DataFrame
        Columns ``about``, ``one source says``, ``another says`` and ``why it matters``.
    """
    by_id = {claim["id"]: claim for claim in claims}
    return pd.DataFrame(
        [
            {
                "about": row["id"],
                # The source's own parentheses ("(press coverage)") would nest inside a pair around it.
                "one source says": f"{stated(by_id[row['claim_a']])}, {row['version_a']}: {row['source_a']}",
                "another says": f"{stated(by_id[row['claim_b']])}, {row['version_b']}: {row['source_b']}",
                "why it matters": row["issue"],
            }
            for row in rows
        ],
        columns=["about", "one source says", "another says", "why it matters"],
    )


def _grim_text(row: Mapping, by_id: Mapping) -> tuple[str, str]:
    claim, n, sums = by_id[row["claim_id"]], row["n"], row["sums"]
    detail = f"n = {n}; " + (", ".join(f"total {s} gives {s / n:.5f}" for s in sums) if sums else "no total fits")
    if claim["result_key"] == "post_mean":
        detail += f"; assumes all {n} patients have a score after treatment (the number who do is not published)"
    return detail, consistency_text.explain_grim(claim["value"], n, claim["decimals"])


def _grimmer_text(row: Mapping, by_id: Mapping) -> tuple[str, str]:
    sd_claim, n = by_id[row["claim_id"]], row["n"]
    if row["mean_id"] is None:
        return (
            f"the {sd_claim['version']} version reports no mean to go with this SD",
            "This SD cannot be checked without a mean from the same source.",
        )
    mean_claim = by_id[row["mean_id"]]
    detail = f"mean {stated(mean_claim)} ({mean_claim['id']}), SD {stated(sd_claim)}, n = {n}, "
    detail += f"scores {row['lo']}-{row['hi']}"
    explanation = consistency_text.explain_grimmer(
        mean_claim["value"], sd_claim["value"], n, mean_claim["decimals"], row["lo"], row["hi"], sd_claim["decimals"]
    )
    return detail, explanation


def _percentage_text(row: Mapping, by_id: Mapping) -> tuple[str, str]:
    claim, n = by_id[row["claim_id"]], row["n"]
    detail = (
        f"{' or '.join(str(k) for k in row['counts']) or 'no count'} of {n}; if the percentage is of "
        "patients with a score after treatment, the denominator is smaller and not published"
    )
    return detail, consistency_text.explain_percent_counts(claim["value"], n, claim["decimals"])


def _d_definition_text(row: Mapping, by_id: Mapping) -> tuple[str, str]:
    claim = by_id[row["claim_id"]]
    if row["missing"]:
        return (
            f"the {claim['version']} version does not report {', '.join(row['missing'])}",
            "Which definition of d was used cannot be checked without both means and SDs.",
        )
    defs, found = row["definitions"], row["found"]
    low, high = defs["ranges"]["d_av"]
    places = claim["decimals"] + 1
    detail = (
        f"d_av = {defs['d_av']:.{places}f} ({low:.{places}f} to {high:.{places}f} over the rounding of the inputs); "
        f"definitions that fit: {', '.join(found['matches']) or 'none'}"
    )
    return detail, consistency_text.explain_closest(found, defs, claim["decimals"])


_CHECK_TEXT = {
    "GRIM": _grim_text,
    "GRIMMER": _grimmer_text,
    "percentage": _percentage_text,
    "effect size definition": _d_definition_text,
}


def check_rows(checks: Sequence[Mapping], claims: Sequence[Mapping]) -> list[dict]:
    """The consistency checks as ``results.json`` records them: each with the numbers behind its verdict
    (``detail``) and what it means (``explanation``) in words.

    Parameters
    ----------
    checks : sequence of dict
        From :func:`ketamine_ptsd.analysis.claims.consistency_report`.
    claims : sequence of dict
        The claims checked (:func:`ketamine_ptsd.data.references.load_claims`).

    Returns
    -------
    list of dict
        Rows ``{check, claim_id, consistent, detail, explanation}``, in the order of ``checks``.
    """
    by_id = {claim["id"]: claim for claim in claims}
    rows = []
    for row in checks:
        detail, explanation = _CHECK_TEXT[row["check"]](row, by_id)
        rows.append(
            {
                "check": row["check"],
                "claim_id": row["claim_id"],
                "consistent": row["consistent"],
                "detail": detail,
                "explanation": explanation,
            }
        )
    return rows


_CHECK_COLUMNS = ("check", "claim", "published", "consistent", "what it means")


def checks_table(checks: list[dict], claims: list[dict], kinds: set[str] | tuple[str, ...]) -> pd.DataFrame:
    """The consistency checks of some kinds, as a table for the report.

    Parameters
    ----------
    checks : list of dict
        From :func:`check_rows`.
    claims : list of dict
        From :func:`ketamine_ptsd.data.references.load_claims`; gives each checked claim's value as stated.
    kinds : collection of str
        Checks to keep, e.g. ``{"GRIM", "GRIMMER"}``.

    Returns
    -------
    pandas.DataFrame
        Columns ``check``, ``claim``, ``published``, ``consistent`` (``"yes"``, ``"NO"`` or
        ``"cannot check"``) and ``what it means``, in the order of ``checks``.
    """
    as_stated = {claim["id"]: stated(claim) for claim in claims}
    label = {claim["id"]: glossary.claim_label(claim) for claim in claims if claim.get("result_key") in glossary.TERMS}
    verdict = {True: "yes", False: "NO", None: "cannot check"}
    return pd.DataFrame(
        [
            {
                "check": row["check"],
                "claim": label.get(row["claim_id"], row["claim_id"]),
                "published": as_stated[row["claim_id"]],
                "consistent": verdict[row["consistent"]],
                "what it means": row["explanation"],
            }
            for row in checks
            if row["check"] in kinds
        ],
        columns=list(_CHECK_COLUMNS),
    )


def d_definitions_table(definitions: dict, found: dict) -> pd.DataFrame:
    """Cohen's d under each definition, with its range and whether it gives the reported d.

    Parameters
    ----------
    definitions : dict
        From :func:`ketamine_ptsd.analysis.summary_effects.d_definitions`, called with ``decimals``.
    found : dict
        From :func:`ketamine_ptsd.analysis.consistency.closest_to` on those definitions.

    Returns
    -------
    pandas.DataFrame
        One row per definition: ``definition``, ``value``, ``lowest``, ``highest`` and
        ``gives the reported d`` (``"yes"`` or ``"no"``).
    """
    return pd.DataFrame(
        [
            {
                "definition": consistency_text.D_LABELS[name],
                "value": definitions[name],
                "lowest": definitions["ranges"][name][0],
                "highest": definitions["ranges"][name][1],
                "gives the reported d": "yes" if name in found["matches"] else "no",
            }
            for name in D_NAMES
        ]
    )


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def why(row: Mapping, rows: Sequence[Mapping], claims: Sequence[Mapping], d_check: Mapping | None = None) -> str:
    """Why a claim differs, in a sentence: the reason :func:`ketamine_ptsd.analysis.claims.explain_differences`
    found for ``row``, with the claims (``rows`` of :func:`~ketamine_ptsd.analysis.claims.compare_claims`) and
    the d check (:func:`~ketamine_ptsd.analysis.claims.d_av_check`) behind it."""
    if row["because"] == "rival":
        rival = next(claim for claim in claims if claim["id"] == row["rival"])
        published = next(other["published"] for other in rows if other["id"] == row["rival"])
        return (
            f"the {rival['version']} version states {published} for the same quantity "
            f"(`{rival['id']}`), and this cohort matches that instead: no cohort can match both."
        )
    if row["because"] == "d_check":
        return (
            f"this cohort matches the published means and the preprint SDs, and with those d_av lies between "
            f"{d_check['low']:.3f} and {d_check['high']:.3f}: no cohort can match them and d = {row['published']} "
            "together (the preprint's d goes with the preprint's own means; see the next section)."
        )
    return "the recomputed value is not the published one; see the table."


def claims_table(
    rows: Sequence[Mapping], claims: Sequence[Mapping], differing: Sequence[Mapping], d_check: Mapping | None = None
) -> pd.DataFrame:
    """Every claim compared (:func:`comparison_table`) with its group from ``data/published_claims.yml`` and,
    for a claim that differs (:func:`ketamine_ptsd.analysis.claims.explain_differences`), the reason
    :func:`why` gives, next to its verdict. The claims' ids, which name them in ``results.json``, are left out
    of the sentences a reader sees.

    >>> rows = [{"id": "a_b", "claim": "x", "source": "s", "published": "1", "recomputed_display": "2",
    ...          "status": "differs", "note": "n (`c_d`)"}]
    >>> claims_table(rows, [{"id": "a_b", "group": "outcome"}], [])[["group", "why"]].to_dict("records")
    [{'group': 'outcome', 'why': 'N'}]
    """
    group = {claim["id"]: claim["group"] for claim in claims}
    reason = {row["id"]: why(row, rows, claims, d_check) for row in differing}
    table = comparison_table(list(rows))
    table["group"] = [group[row["id"]] for row in rows]
    notes = [reason.get(row["id"], note) for row, note in zip(rows, table["why"], strict=True)]
    notes = [re.sub(r" \(`?[a-z0-9]+(?:_[a-z0-9]+)+`?\)", "", n).replace("`", "") if n else n for n in notes]
    table["why"] = [n[:1].upper() + n[1:] if n else n for n in notes]
    return table


def percentage_counts(checks: Sequence[Mapping]):
    """The head counts behind each published percentage, from the consistency checks of that kind
    (:func:`check_rows`)."""
    return _markdown(
        "\n".join(f"- `{row['claim_id']}`: {row['explanation']}" for row in checks if row["check"] == "percentage")
    )


def bound_percent(bound: Mapping, claims: Sequence[Mapping]) -> str:
    """The published percentage behind a bound of :func:`ketamine_ptsd.analysis.claims.change_sd_bound`, as
    stated."""
    return stated(next(claim for claim in claims if claim["id"] == bound["percent_id"]))


def change_sd_floor(bound: Mapping, mcid: float, claims: Sequence[Mapping]):
    """What the published share of clinically significant change rules out about the pre-post correlation
    (:func:`ketamine_ptsd.analysis.claims.change_sd_bound` on ``claims``)."""
    if not bound["change_sd_floor"]:
        return _markdown(
            f"With a threshold of {mcid:g} points, not above the mean change, the published share of clinically "
            "significant change puts no floor under the SD of the change and rules out no correlation."
        )
    return _markdown(
        f"The published share of clinically significant change ({bound_percent(bound, claims)}) narrows this range. If "
        f"{bound['n_not_clinically_significant']} patients improved by less than {mcid:g} points, the SD of the "
        f"change cannot be smaller than {bound['change_sd_floor']:.2f} points, however the scores are arranged "
        "(it is smallest when all of them improved by just under the threshold and everyone else by the same "
        f"amount). So r is at most {bound['r_max']:.2f}, d_z at most {bound['d_z_max']:.2f} and t at most "
        f"{bound['t_max']:.1f}; the rows above that correlation are ruled out. "
        "The bound itself needs every change to take one of two values, which real scores hardly ever do."
    )


def r_range_table(r_rows: Sequence[Mapping], bound: Mapping, claims: Sequence[Mapping]) -> pd.DataFrame:
    """The paired statistics at each correlation of the grid
    (:func:`ketamine_ptsd.analysis.summary_effects.r_range_for`) as the chapter shows them, with whether the
    published percentage (:func:`bound_percent`) allows that correlation."""
    table = pd.DataFrame([row for row in r_rows if row["basis"] == "grid"])
    table["p"] = table["p"].map(format_p)
    allowed = f"allowed by the {bound_percent(bound, claims)}"
    r_cap = math.inf if bound["r_max"] is None else bound["r_max"]
    table[allowed] = np.where(table["r"] <= r_cap, "yes", "no")
    return table[["r", "sd_change", "d_z", "t", "p", "change_ci_low", "change_ci_high", allowed]].rename(
        columns={"sd_change": "SD of change", "change_ci_low": "CI low", "change_ci_high": "CI high"}
    )


def psychotherapy_spread(spread: pd.DataFrame, ci_level: float, alpha: float):
    """How the psychotherapy d's interval and test vary over the reconstructed cohorts
    (:func:`ketamine_ptsd.analysis.reconstruction.reconstruction_statistics`)."""
    low_max = float(spread["psychotherapy_d_ci_low"].max())
    low_min = float(spread["psychotherapy_d_ci_low"].min())
    high_min = float(spread["psychotherapy_d_ci_high"].min())
    high_max = float(spread["psychotherapy_d_ci_high"].max())
    if low_min > 0 or high_max < 0:
        side = "above" if low_min > 0 else "below"
        verdict = f"lies {side} zero (excludes no difference) in every reconstructed cohort"
    elif low_max <= 0 <= high_min:
        verdict = "includes zero (no difference) in every reconstructed cohort"
    else:
        verdict = "includes zero (no difference) in some reconstructed cohorts and not in others"
    share = 100 * float((spread["psychotherapy_p"] < alpha).mean())
    return _markdown(
        f"For psychotherapy, d is fixed by construction, but its {ci_level:.0%} confidence interval depends on how "
        f"many patients had psychotherapy, which is not published: its lower end runs from {low_min:.2f} to "
        f"{low_max:.2f} and its upper end from {high_min:.2f} to {high_max:.2f}. The interval {verdict}, and the two-sample t test gives "
        f"p below {alpha:g} in {share:.0f}% of the cohorts."
    )
