"""Who the patients are: the cohort's key figures and its Table 1, with small cells suppressed."""

from __future__ import annotations

import pandas as pd

from ketamine_ptsd.analysis.privacy import count_mark, suppress, too_few
from ketamine_ptsd.analysis.values import as_float as _float
from ketamine_ptsd.data.contract import GENDER_VALUES
from ketamine_ptsd.parameters import DEFAULTS

#: Longest category label shown; longer free text is cut so a table stays a table.
MAX_LABEL = 60


def cohort_summary(cohort: pd.DataFrame, min_cell: int = DEFAULTS["min_cell"]) -> dict:
    """The contract's cohort keys: counts, ``pct_women`` (of those reporting gender), unreported shares.

    With ``min_cell``, a mean or share resting on 1 to ``min_cell - 1`` patients is suppressed
    (:func:`ketamine_ptsd.analysis.privacy.suppress`); the counts of patients, completers and dropouts are the sizes
    every analysis reports and are always given.
    """
    n = len(cohort)
    reported_gender = cohort["gender"].dropna()
    women = int((reported_gender == "woman").sum())
    absent = set(cohort.attrs.get("absent_columns", []))

    def pct_missing(col):
        return None if col in absent or n == 0 else 100.0 * cohort[col].isna().sum() / n

    values = {
        "n_patients": n,
        "n_completers": int((cohort["pcl5_pre"].notna() & cohort["pcl5_post"].notna()).sum()),
        "n_dropouts": int(cohort["pcl5_post"].isna().sum()),
        "mean_age": _float(cohort["age"].mean()) if cohort["age"].notna().any() else None,
        "pct_women": 100.0 * women / len(reported_gender) if len(reported_gender) else None,
        "pct_gender_unreported": pct_missing("gender"),
        "pct_race_unreported": pct_missing("race_ethnicity"),
        "mean_infusions": _float(cohort["n_infusions"].mean()) if cohort["n_infusions"].notna().any() else None,
    }
    sizes = {
        "mean_age": int(cohort["age"].notna().sum()),
        "pct_women": (women, len(reported_gender)),
        "pct_gender_unreported": int(cohort["gender"].isna().sum()),
        "pct_race_unreported": int(cohort["race_ethnicity"].isna().sum()),
        "mean_infusions": int(cohort["n_infusions"].notna().sum()),
    }
    return suppress(values, sizes, min_cell)


def _count(k: int, n: int, min_cell: int) -> str:
    if too_few(k, min_cell):
        return count_mark(min_cell)
    return f"{k} ({100 * k / n:.1f}%)" if n else "0"


def _label(value) -> str:
    text = str(value)
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "…"


def table_one(cohort: pd.DataFrame, min_cell: int = DEFAULTS["min_cell"]) -> pd.DataFrame:
    """Table 1: one row per characteristic and level, with missingness, for all patients.

    Counts between 1 and ``min_cell - 1`` are shown as suppressed; categories of free text that are that
    small are pooled into one row so that no rare, identifying label is printed.
    """
    n = len(cohort)
    absent = set(cohort.attrs.get("absent_columns", []))
    rows: list[tuple[str, str, str]] = [("Patients", "", str(n))]
    k_done = int(cohort["pcl5_post"].notna().sum())
    # The analysed sample's size is printed by every chapter, so it is shown even when small.
    rows.append(("Completers (pre and post PCL-5)", "", _count(k_done, n, 0)))

    def numeric(col, label, fmt=".1f"):
        if col in absent:
            rows.append((label, "", "not in the data file"))
            return
        x = cohort[col].dropna().astype("float64")
        if len(x) >= max(min_cell, 2):
            q1, med, q3 = x.quantile([0.25, 0.5, 0.75])
            rows.append((label, "mean (SD)", f"{x.mean():{fmt}} ({x.std():{fmt}})"))
            rows.append((label, "median [IQR]", f"{med:g} [{q1:g}, {q3:g}]"))
        elif len(x):
            rows.append((label, "mean (SD)", f"fewer than {max(min_cell, 2)} values (suppressed)"))
        missing = n - len(x)
        if missing:
            rows.append((label, "not reported", _count(missing, n, min_cell)))

    def categorical(col, label, levels=None):
        if col in absent:
            rows.append((label, "", "not in the data file"))
            return
        counts = cohort[col].value_counts(dropna=True)
        if levels is not None:
            counts = counts.reindex(levels, fill_value=0)
        small = counts[(counts > 0) & (counts < min_cell)]
        for level, k in counts.items():
            if levels is None and level in small.index:
                continue
            rows.append((label, _label(level), _count(int(k), n, min_cell)))
        if levels is None and len(small):
            rows.append((label, f"{len(small)} smaller categories, pooled", _count(int(small.sum()), n, min_cell)))
        missing = int(cohort[col].isna().sum())
        rows.append((label, "not reported", _count(missing, n, min_cell)))

    numeric("age", "Age, years")
    categorical("gender", "Gender", list(GENDER_VALUES))
    categorical("race_ethnicity", "Race/ethnicity")
    numeric("pcl5_pre", "PCL-5 before treatment (pcl5_pre)")
    numeric("pcl5_post", "PCL-5 after treatment (pcl5_post)")
    numeric("days_between", "Days between assessments", ".0f")
    numeric("n_infusions", "Ketamine infusions")
    numeric("n_psych_meds", "Psychiatric medications at baseline")
    for col, label in (("suicidal_ideation", "Suicidal ideation"), ("psychotherapy", "Concomitant psychotherapy")):
        if col in absent:
            rows.append((label, "", "not in the data file"))
            continue
        rows.append((label, "yes", _count(int((cohort[col] == True).sum()), n, min_cell)))  # noqa: E712
        missing = int(cohort[col].isna().sum())
        if missing:
            rows.append((label, "unknown", _count(missing, n, min_cell)))
    return pd.DataFrame(rows, columns=["characteristic", "level", "value"])
