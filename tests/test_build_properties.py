"""Properties of whole builds over generated cohorts.

A valid cohort (6 to 40 patients, optional columns present or absent, some dropouts, with or without the
small-cell rule) is built into a book, and its ``results.json`` must equal an independent computation:
scipy's paired and two-sample t tests, numpy means and SDs, statsmodels' regressions, counts by hand, and the
small-cell rule written out here. A valid cohort with one corrupted cell must be rejected by
``ketamine-ptsd validate`` at that cell's row and column.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from ketamine_ptsd import cli, project

OPTIONAL = (
    "age",
    "gender",
    "race_ethnicity",
    "days_between",
    "n_infusions",
    "n_psych_meds",
    "suicidal_ideation",
    "psychotherapy",
)
# How the file may spell each gender and boolean (the contract's spellings, typed out here).
GENDER = {
    "woman": ["woman", "F", "Female"],
    "man": ["man", "m", "MALE"],
    "nonbinary": ["nonbinary"],
    "other": ["other"],
}
BOOLEAN = {True: ["true", "yes", "1"], False: ["false", "No", "0"]}


@st.composite
def cohorts(draw, min_patients=6, max_patients=40):
    """(cohort as typed values, the same as CSV cell text, present optional columns)."""
    n = draw(st.integers(min_patients, max_patients))
    present = sorted(draw(st.sets(st.sampled_from(OPTIONAL))))
    pre = draw(st.lists(st.integers(0, 80), min_size=n, max_size=n))
    dropouts = draw(st.sets(st.integers(0, n - 1), max_size=max(0, n - 3)))  # at least three completers
    post = [None if i in dropouts else draw(st.integers(0, 80)) for i in range(n)]
    values = {"patient_id": [f"H{i:03d}" for i in range(n)], "pcl5_pre": pre, "pcl5_post": post}
    maybe = st.none() | st.just(1)
    drawn = {
        "age": lambda: draw(st.none() | st.integers(18, 90)),
        "gender": lambda: draw(st.none() | st.sampled_from(sorted(GENDER))),
        "race_ethnicity": lambda: draw(st.none() | st.sampled_from(["Asian", "Black", "White", "Hispanic"])),
        "days_between": lambda: draw(maybe) and draw(st.integers(0, 300)),
        "n_infusions": lambda: draw(maybe) and draw(st.integers(1, 12)),
        "n_psych_meds": lambda: draw(maybe) and draw(st.integers(0, 6)),
        "suicidal_ideation": lambda: draw(st.none() | st.booleans()),
        "psychotherapy": lambda: draw(st.none() | st.booleans()),
    }
    for column in present:
        values[column] = [drawn[column]() for _ in range(n)]

    def text(column, v):
        if v is None:
            return ""
        if column == "gender":
            return draw(st.sampled_from(GENDER[v]))
        if column in ("suicidal_ideation", "psychotherapy"):
            return draw(st.sampled_from(BOOLEAN[v]))
        return str(v)

    cells = {column: [text(column, v) for v in col] for column, col in values.items()}
    return pd.DataFrame(values), pd.DataFrame(cells), present


def small(k, min_cell) -> bool:
    return 0 < k < min_cell


def expected_results(frame: pd.DataFrame, present: list[str], min_cell: int) -> tuple[dict, set]:
    """The values the book must publish, computed here without the package, and the keys it must suppress:
    a value (not already None) resting on a group of 1 to min_cell - 1 patients."""
    raw: dict = {}
    sizes: dict = {}  # key -> the group sizes its value rests on
    n = len(frame)
    done = frame[frame["pcl5_post"].notna()]
    pre = done["pcl5_pre"].to_numpy(float)
    post = done["pcl5_post"].astype(float).to_numpy()
    change = pre - post
    m = len(done)
    raw.update(n_patients=n, n_completers=m, n_dropouts=n - m)

    # The paired outcome, all of it resting on the completers.
    raw.update(
        pre_mean=pre.mean(),
        post_mean=post.mean(),
        mean_change=change.mean(),
        pre_sd=pre.std(ddof=1),
        post_sd=post.std(ddof=1),
        change_sd=change.std(ddof=1),
        t=None,
        p=None,
        d_z=None,
        change_ci_low=None,
        change_ci_high=None,
    )
    if change.std(ddof=1) > 0:
        test = sps.ttest_rel(pre, post)
        half = sps.t.ppf(0.975, m - 1) * change.std(ddof=1) / math.sqrt(m)
        raw.update(
            t=test.statistic,
            p=test.pvalue,
            d_z=change.mean() / change.std(ddof=1),
            change_ci_low=change.mean() - half,
            change_ci_high=change.mean() + half,
        )
    if pre.var(ddof=1) + post.var(ddof=1) > 0 and change.std(ddof=1) > 0:
        raw["d_av"] = change.mean() / math.sqrt((pre.var(ddof=1) + post.var(ddof=1)) / 2)
    sizes.update(dict.fromkeys([k for k in raw if k not in ("n_patients", "n_completers", "n_dropouts")], (m,)))

    # Clinical significance, default definitions: counts of completers, shares of completers and of all.
    reliable = 1.96 * pre.std(ddof=1) * math.sqrt(2 * (1 - 0.82))
    met = {
        "clinically_significant": change >= 10,
        "reliable_improvement": change > reliable,
        "response": change >= 0.3 * pre,
        "remission": post < 33,
    }
    for name, mask in met.items():
        k = int(mask.sum())
        raw.update({f"n_{name}": k, f"pct_{name}": 100 * k / m, f"pct_{name}_itt": 100 * k / n})
        sizes.update(dict.fromkeys([f"n_{name}", f"pct_{name}", f"pct_{name}_itt"], (k, m)))

    # The cohort: shares and means of the patients reporting a column.
    def given(column):
        return frame[column].dropna() if column in present else pd.Series(dtype=object)

    gender = given("gender")
    women = int((gender == "woman").sum())
    raw["pct_women"] = 100 * women / len(gender) if len(gender) else None
    sizes["pct_women"] = (women, len(gender))
    for column, key in (("gender", "pct_gender_unreported"), ("race_ethnicity", "pct_race_unreported")):
        unreported = n - len(given(column))
        raw[key] = 100 * unreported / n if column in present else None
        sizes[key] = (unreported,)
    for column, key in (("n_infusions", "mean_infusions"), ("age", "mean_age")):
        values = given(column).astype(float)
        raw[key] = values.mean() if len(values) else None
        sizes[key] = (len(values),)

    # Psychotherapy: mean change with and without, d over the pooled SD, Student's t test.
    raw.update(psychotherapy_d=None, psychotherapy_p=None)
    if "psychotherapy" in present:
        with_ = change[(done["psychotherapy"] == True).to_numpy()]  # noqa: E712 (None for unknown)
        without = change[(done["psychotherapy"] == False).to_numpy()]  # noqa: E712
        n1, n2 = len(with_), len(without)
        if min(n1, n2) >= 2:
            pooled = math.sqrt(((n1 - 1) * with_.var(ddof=1) + (n2 - 1) * without.var(ddof=1)) / (n1 + n2 - 2))
            if pooled > 0:
                raw.update(
                    psychotherapy_d=(with_.mean() - without.mean()) / pooled,
                    psychotherapy_p=sps.ttest_ind(with_, without).pvalue,
                )
        sizes.update(psychotherapy_d=(n1, n2), psychotherapy_p=(n1, n2))

    # Age as a moderator of change, adjusted for baseline: statsmodels OLS on completers reporting age.
    raw["moderator_p_age"] = None
    if "age" in present:
        import statsmodels.api as sm

        sub = done[done["age"].notna()]
        ages = sub["age"].astype(float)
        if len(sub) >= 4 and ages.nunique() > 1:
            X = sm.add_constant(np.column_stack([sub["pcl5_pre"].astype(float), ages]), has_constant="add")
            y = (sub["pcl5_pre"] - sub["pcl5_post"].astype(float)).to_numpy()
            raw["moderator_p_age"] = sm.OLS(y, X).fit().pvalues[2]
        sizes["moderator_p_age"] = (len(sub),)

    hidden = {
        key for key, value in raw.items() if value is not None and any(small(k, min_cell) for k in sizes.get(key, ()))
    }
    exp = {key: None if key in hidden else value for key, value in raw.items()}
    # The sensitivity table: counts under each threshold, resting on those counted and on the completers.
    counts = [
        int((post < 31).sum()),
        int((post < 33).sum()),
        int((change >= 5).sum()),
        int((change >= 10).sum()),
        int((change >= 15).sum()),
    ]
    # Reliable improvement with the completers' baseline SD (1.96 SD sqrt(2 (1 - .82))), when they have one;
    # then Marx et al.'s drop of 15 or more, and that with an end score of 28 or less.
    if m > 1:
        counts.append(int((change > 1.96 * np.std(pre, ddof=1) * math.sqrt(2 * (1 - 0.82))).sum()))
    counts += [int((change >= 15).sum()), int(((change >= 15) & (post <= 28)).sum())]
    cut = [small(k, min_cell) or small(m, min_cell) for k in counts]
    exp["sensitivity_n"] = [None if c else k for k, c in zip(counts, cut)]
    hidden |= {f"sensitivity[{i}].{col}" for i, c in enumerate(cut) if c for col in ("n", "pct", "pct_itt")}
    return exp, hidden


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-9)


# Each example is a whole build (about half a minute here): few examples, no deadline, and no shrinking,
# which would build again and again; a failing example is printed as drawn.
BUILDS = settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.pipeline
@BUILDS
@given(cohorts(), st.sampled_from([0, 5]))
def test_built_results_equal_an_independent_computation(data, min_cell):
    frame, cells, present = data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.csv"
        cells.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
        started_in = Path.cwd()
        project.build(path, Path(folder) / "out", {"min_cell": min_cell}, echo=lambda line: None)
        # The build runs kernels in the output folder without moving this process there.
        assert Path.cwd() == started_in
        r = json.loads((Path(folder) / "out" / "results.json").read_text())
    exp, hidden = expected_results(frame, present, min_cell)
    sensitivity_n = exp.pop("sensitivity_n")
    wrong = {
        k: (r.get(k), v)
        for k, v in exp.items()
        if not (close(r.get(k), v) if isinstance(v, float) or isinstance(r.get(k), float) else r.get(k) == v)
    }
    assert not wrong, wrong
    assert [row["n"] for row in r["sensitivity"]] == sensitivity_n
    # The suppressed list names exactly the hidden values among those computed here, and each is null.
    modelled = set(exp) | {p for p in r["suppressed"] if p.startswith("sensitivity[")}
    assert {p for p in r["suppressed"] if p in modelled} == hidden
    assert all(r[key] is None for key in r["suppressed"] if key in r)


# --- invalid cohorts ---------------------------------------------------------------------------------------

#: Values that break a cell of each column on their own, whatever the rest of the row holds.
BREAKERS = {
    "pcl5_pre": ["abc", "52.5", "81", "-1", "1e309", "#N/A", ""],
    "pcl5_post": ["abc", "30.5", "90", "-4", "inf"],
    "age": ["17", "111", "forty", "40.5"],
    "gender": ["robot", "w", "#VALUE!"],
    "race_ethnicity": ["#N/A", "#DIV/0!"],
    "days_between": ["-1", "3.5", "many"],
    "n_infusions": ["0", "-2", "1e3"],
    "n_psych_meds": ["-1", "two"],
    "suicidal_ideation": ["maybe", "2", "y"],
    "psychotherapy": ["sometimes", "-1", "t"],
}


def validate_cli(path: Path) -> tuple[int, str]:
    """``ketamine-ptsd validate --data path``, through the command's own entry point, and what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = cli.main(["validate", "--data", str(path)])
    return status, err.getvalue()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cohorts(min_patients=2, max_patients=12), st.data())
def test_one_corrupted_cell_is_rejected_at_its_row_and_column(data, draw):
    _, cells, present = data
    n = len(cells)
    k = draw.draw(st.integers(0, n - 1), label="row")
    columns = ["patient_id", *[c for c in cells.columns if c in BREAKERS]]
    column = draw.draw(st.sampled_from(columns), label="column")
    if column == "patient_id":
        options = [""] + ([cells.loc[0, "patient_id"]] if k > 0 else [])  # empty, or a repeat of row 2's id
    else:
        options = BREAKERS[column]
    bad = cells.copy()
    bad.loc[k, column] = draw.draw(st.sampled_from(options), label="value")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cohort.csv"
        bad.to_csv(path, index=False)
        status, err = validate_cli(path)
    row = k + 2  # the header is line 1
    assert status == 2 and "Traceback" not in err
    assert re.search(rf"^{re.escape(str(path))}: row {row}: column {column}: ", err, re.M), err
    # No other row is blamed (a file-level line, such as "no completers", may follow from the bad cell).
    assert set(re.findall(rf"^{re.escape(str(path))}: row (\d+):", err, re.M)) == {str(row)}, err


def test_d_av_carries_the_sign_of_the_change():
    # Found by the build property above: pingouin reports |d|. Scores that rise give a negative d_av,
    # the mean change over the root mean of the two variances, with an interval around it.
    pre, post = np.array([30.0, 45, 35, 20]), np.array([50.0, 60, 40, 55])
    from ketamine_ptsd.analysis import stats

    r = stats.paired_outcome(pre, post)
    change = pre - post
    assert r["d_av"] == pytest.approx(change.mean() / math.sqrt((pre.var(ddof=1) + post.var(ddof=1)) / 2))
    assert r["d_av"] < 0 and r["d_av_ci_low"] < r["d_av"] < r["d_av_ci_high"]
