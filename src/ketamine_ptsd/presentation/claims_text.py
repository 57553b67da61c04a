"""The "Reproducing the paper" chapter in words and tables: written from the claims compared, the
consistency checks and the reconstructions, which :mod:`ketamine_ptsd.analysis.claims`,
:mod:`ketamine_ptsd.analysis.consistency` and :mod:`ketamine_ptsd.analysis.reconstruction` compute."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ketamine_ptsd.analysis.claims import stated
from ketamine_ptsd.presentation.prose import format_p

#: The verdict a reader sees for a matching claim that the data were generated to match, or that holds only
#: before the multiplicity adjustment (``results.json`` keeps the three statuses and flags these apart).
BY_CONSTRUCTION = "reproduced by construction"
UNADJUSTED_ONLY = "matches only unadjusted"


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


def conflicts_table(rows: list[dict]) -> pd.DataFrame:
    """Where the sources disagree, as a table for the report: each side with its version and source.

    Parameters
    ----------
    rows : list of dict
        From :func:`ketamine_ptsd.analysis.claims.conflicts`.

    Returns
    -------
    pandas.DataFrame
        Columns ``about``, ``one source says``, ``another says`` and ``why it matters``.
    """
    return pd.DataFrame(
        [
            {
                "about": row["id"],
                "one source says": f"{row['stated_a']} ({row['version_a']}: {row['source_a']})",
                "another says": f"{row['stated_b']} ({row['version_b']}: {row['source_b']})",
                "why it matters": row["issue"],
            }
            for row in rows
        ],
        columns=["about", "one source says", "another says", "why it matters"],
    )


_CHECK_COLUMNS = ("check", "claim", "published", "consistent", "what it means")


def checks_table(checks: list[dict], claims: list[dict], kinds: set[str] | tuple[str, ...]) -> pd.DataFrame:
    """The consistency checks of some kinds, as a table for the report.

    Parameters
    ----------
    checks : list of dict
        From :func:`ketamine_ptsd.analysis.claims.consistency_report`.
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
    verdict = {True: "yes", False: "NO", None: "cannot check"}
    return pd.DataFrame(
        [
            {
                "check": row["check"],
                "claim": row["claim_id"],
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
        From :func:`ketamine_ptsd.analysis.consistency.d_definitions`, called with ``decimals``.
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
                "definition": definitions["labels"][name],
                "value": definitions[name],
                "lowest": definitions["ranges"][name][0],
                "highest": definitions["ranges"][name][1],
                "gives the reported d": "yes" if name in found["matches"] else "no",
            }
            for name in ("d_av", "d_mean_sd", "d_pre", "d_post")
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
    """The head counts behind each published percentage, from the consistency checks of that kind."""
    return _markdown(
        "\n".join(f"- `{row['claim_id']}`: {row['explanation']}" for row in checks if row["check"] == "percentage")
    )


def change_sd_floor(bound: Mapping, mcid: float):
    """What the published share of clinically significant change rules out about the pre-post correlation
    (:func:`ketamine_ptsd.analysis.claims.change_sd_bound`)."""
    if not bound["change_sd_floor"]:
        return _markdown(
            f"With a threshold of {mcid:g} points, not above the mean change, the published share of clinically "
            "significant change puts no floor under the SD of the change and rules out no correlation."
        )
    return _markdown(
        f"The published share of clinically significant change ({bound['percent']}) narrows this range. If "
        f"{bound['n_not_clinically_significant']} patients improved by less than {mcid:g} points, the SD of the "
        f"change cannot be smaller than {bound['change_sd_floor']:.2f} points, however the scores are arranged "
        "(it is smallest when all of them improved by just under the threshold and everyone else by the same "
        f"amount). So r is at most {bound['r_max']:.2f}, d_z at most {bound['d_z_max']:.2f} and t at most "
        f"{bound['t_max']:.1f}; the rows above that correlation are ruled out. "
        "The bound itself needs every change to take one of two values, which real scores hardly ever do."
    )


def r_range_table(r_rows: Sequence[Mapping], bound: Mapping) -> pd.DataFrame:
    """The paired statistics at each correlation of the grid (:func:`ketamine_ptsd.analysis.consistency.r_range_for`)
    as the chapter shows them, with whether the published percentage allows that correlation."""
    table = pd.DataFrame([row for row in r_rows if row["basis"] == "grid"])
    table["p"] = table["p"].map(format_p)
    allowed = f"allowed by the {bound['percent']}"
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
