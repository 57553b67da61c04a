"""Sentences and tables of the multiverse in the "How robust is the result?" chapter, written from
:mod:`ketamine_ptsd.analysis.multiverse`'s results (each says what the computation shows and no more)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ketamine_ptsd.analysis.multiverse import DECISIONS, FAMILIES, FAMILY_DECISION, STATEMENTS
from ketamine_ptsd.presentation.prose import format_p

#: Each decision in the reader's words.
DECISION_LABELS = {
    "population": "population analysed",
    "entry_threshold": "entry restriction",
    "remission_cutoff": "remission cutoff",
    "clinically_significant_definition": "definition of clinically significant change",
    "response_fraction": "response fraction",
    "reliable_change_definition": "definition of reliable change",
    "baseline_adjusted": "baseline adjustment",
    "effect_size": "kind of effect size",
    "several at once": "several decisions at once",
}
#: Each outcome family in the reader's words.
FAMILY_LABELS = {
    "remission": "remission",
    "clinically_significant": "clinically significant change",
    "response": "response",
    "reliable_improvement": "reliable improvement",
    "mean_change": "the mean change",
    "effect_size": "the effect size",
}
#: The house decimals (:data:`~ketamine_ptsd.presentation.prose.DECIMALS`) of each unit of ``FAMILIES``.
UNIT_DECIMALS = {"% of patients": "share", "PCL-5 points": "points", "standardised mean change": "d"}


def family_decimals(families: pd.Series) -> pd.Series:
    """The house decimals of each row's estimate, from its outcome family (a share of patients to 1 place, a
    change in points and a d to 2), for ``tables.show_table``'s ``decimals``.

    >>> family_decimals(pd.Series(["remission", "mean_change", "effect_size"])).tolist()
    ['share', 'points', 'd']
    """
    return families.map(FAMILIES).map(UNIT_DECIMALS)


#: Why a decision's options can give the same result on a cohort.
COLLAPSE_REASONS = {
    "population": "without dropouts, intention to treat and imputation analyse the completers",
    "entry_threshold": "no patient starts below the threshold, so the restriction leaves everyone in",
    "reliable_change_definition": "the thresholds of the options classify the same patients",
    "remission_cutoff": "no completer ends between the cutoffs",
    "clinically_significant_definition": "no completer's change lies between the thresholds",
    "response_fraction": "the fractions classify the same patients",
    "baseline_adjusted": "the analysed patients' mean baseline is the file's",
    "effect_size": "the kinds of effect size coincide",
    "several at once": "the reasons above combine",
}


def decisions_table(options: Mapping[str, Sequence]) -> pd.DataFrame:
    """The decisions crossed, the options this build gives each, and why (:data:`DECISIONS`)."""
    rows = [
        {
            "decision": DECISION_LABELS[name],
            "outcomes": ", ".join(FAMILY_LABELS[f] for f, d in FAMILY_DECISION.items() if d == name) or "every outcome",
            "options": "; ".join(str(o) for o in options[name]),
            "why": DECISIONS[name],
        }
        for name in DECISIONS
    ]
    return pd.DataFrame(rows)


def collapsed_sentence(collapsed: Sequence[Mapping], n_specifications: int, n_distinct: int) -> str:
    """How many specifications the crossing gives, how many give a result of their own, and, as a Markdown
    list, which decisions' options gave the same result and why."""
    text = (
        f"Crossing every option gives {n_specifications:,} specifications, of which {n_distinct:,} give a result "
        "of their own on this cohort."
    )
    if not collapsed:
        return text
    items = [
        "- repeating one that differs "
        + (
            "in several decisions at once"
            if row["decision"] == "several at once"
            else f"only in the {DECISION_LABELS[row['decision']]}"
        )
        + f": {row['n_specifications']} ({COLLAPSE_REASONS[row['decision']]})"
        for row in collapsed
    ]
    return (
        text
        + " The others repeat an earlier specification's result:\n\n"
        + "\n".join(items)
        + "\n\nEach such group counts once in the shares, ranges and tests below, and the table marks the repeats."
    )


def statement_sentences(summary: Mapping) -> str:
    """For each of the paper's statements, the share of specifications in which it holds, worded as that,
    and how many of the rest cannot be told from it."""
    keys = {
        "remission": "multiverse_share_remission_over_60",
        "clinically_significant": "multiverse_share_clinically_significant_75",
        "effect_size": "multiverse_share_large_effect",
    }
    out = []
    for family, key in keys.items():
        statement, threshold, _ = STATEMENTS[family]
        share, within = summary[key], summary[key + "_n_within_interval"]
        label = FAMILY_LABELS[family].removeprefix("the ")
        if share is None:
            out.append(f'The paper\'s "{statement}" cannot be checked: no {label} specification is shown.')
            continue
        sentence = f'The paper\'s "{statement}" holds in {share:.0f}% of the distinct {label} specifications'
        sentence += (
            f"; of the others, {within} {'has' if within == 1 else 'have'} an interval that reaches {threshold:g}, "
            "so the data cannot tell them from the statement."
            if within
            else "; none of the others has an interval that reaches the statement's threshold."
            if share < 100
            else "."
        )
        out.append(sentence)
    out.append(
        "A share of specifications is not a probability that a statement is true: it counts how many "
        "defensible analyses support it, each counted once."
    )
    return " ".join(out)


def influence_sentence(summary: Mapping) -> str:
    """Per outcome, the decision that moves its estimate most (:func:`ketamine_ptsd.analysis.multiverse.influence`)."""
    chosen = summary["multiverse_most_influential_decision"]
    if not chosen:
        return "No decision moves any estimate on this cohort."
    parts = [
        f"for {FAMILY_LABELS[family]}, the {DECISION_LABELS[decision]}"
        for family, decision in chosen.items()
        if family in FAMILIES
    ]
    return "The decision that moves each estimate most, over every combination of the others: " + "; ".join(parts) + "."


def joint_sentence(joint: Mapping, alpha: float) -> str:
    """The specification-curve test (Simonsohn et al. 2020) in words."""
    k = joint["multiverse_joint_n_specifications"]
    if not k or joint["multiverse_joint_p_n_significant"] is None:
        return "The specification-curve test needs at least one shown mean-change or effect-size specification."
    text = (
        f"Under the null of no change, imposed by flipping the sign of each patient's change at random in "
        f"{joint['multiverse_null_draws']:,} data sets, {joint['multiverse_joint_n_significant']} of the {k} "
        f"distinct mean-change and effect-size specifications show a significant improvement (two-sided p below "
        f"{alpha:g}); as many or more did so in the null data sets with p "
        f"{format_p(joint['multiverse_joint_p_n_significant'])} (the share of them, the observed data counted as one)."
    )
    if joint["multiverse_joint_median_d"] is not None:
        text += (
            f" A median effect size over the specifications as large as the observed "
            f"{joint['multiverse_joint_median_d']:.2f} came with p {format_p(joint['multiverse_joint_p_median'])}."
        )
    return text + (
        " Specifications that all rest on the same paired test move together, which limits how small the "
        "p of the count can be. Shares of patients have no such null and get no p; imputed specifications are "
        "not recomputed under the null."
    )
