"""Properties of validation over generated cohorts.

A valid cohort is generated as values, written as a file in one of many legal spellings, and must come
back as exactly those values. Corrupting one cell of it must produce an error at that cell's row and
column, and nowhere else. Arbitrary bytes must never raise.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import string
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketamine_ptsd.data.validate import ValidationResult, validate_file

PRE = [f"pcl5_pre_{i:02d}" for i in range(1, 21)]
POST = [f"pcl5_post_{i:02d}" for i in range(1, 21)]
OPTIONAL = [
    "days_between",
    "dates",
    "age",
    "gender",
    "race_ethnicity",
    "n_infusions",
    "n_psych_meds",
    "suicidal_ideation",
    "psychotherapy",
    "pre_items",
    "post_items",
]
# The contract's spellings, written out here rather than imported, so that a change to either side shows.
GENDER = {
    "woman": ["woman", "female", "f"],
    "man": ["man", "male", "m"],
    "nonbinary": ["nonbinary", "non-binary"],
    "other": ["other"],
}
BOOLEAN = {True: ["true", "yes", "1", "1.0"], False: ["false", "no", "0", "0.0"]}
MISSING = ["", "  ", "NA", "n/a", "NaN", "null", "None"]
INTEGER_COLUMNS = {
    "pcl5_pre": (0, 80),
    "pcl5_post": (0, 80),
    "days_between": (0, None),
    "age": (18, 110),
    "n_infusions": (1, None),
    "n_psych_meds": (0, None),
    **{c: (0, 4) for c in PRE + POST},
}

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def random_case(draw, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(ch.upper() if f else ch for ch, f in zip(word, flips))


def padded(draw, text: str) -> str:
    return draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " "]))


def spell_int(draw, v: int) -> str:
    forms = [str(v), f"{v}.0", f"{v}.00", f"0{v}"] + ([f"+{v}"] if v >= 0 else [])
    return padded(draw, draw(st.sampled_from(forms)))


def spell_missing(draw) -> str:
    return draw(st.sampled_from(MISSING))


def expected_text(s: str):
    t = s.strip()
    return None if t.lower() in {"", "na", "n/a", "nan", "null", "none"} else t


ID_ALPHABET = string.ascii_letters + string.digits + "-_."
TEXT_ALPHABET = string.ascii_letters + string.digits + " ,;\"'/-()\n"


@st.composite
def cohorts(draw):
    """(header, rows of cell text, expected cohort values, present optional fields)."""
    n = draw(st.integers(1, 10))
    present = draw(st.sets(st.sampled_from(OPTIONAL)))
    ids = draw(
        st.lists(st.text(ID_ALPHABET, min_size=1, max_size=8), min_size=n, max_size=n, unique=True).filter(
            lambda xs: all(x.lower() not in {"na", "nan", "null", "none", "n/a"} for x in xs)
        )
    )
    patients = []
    for k in range(n):
        p = {"patient_id": ids[k]}
        pre_items = (
            draw(st.lists(st.integers(0, 4), min_size=20, max_size=20))
            if "pre_items" in present and draw(st.booleans())
            else None
        )
        p["pcl5_pre"] = sum(pre_items) if pre_items else draw(st.integers(0, 80))
        p["pre_items"] = pre_items
        p["pre_total_given"] = pre_items is None or draw(st.booleans())
        completer = k == 0 or draw(st.booleans())
        post_items = (
            draw(st.lists(st.integers(0, 4), min_size=20, max_size=20))
            if completer and "post_items" in present and draw(st.booleans())
            else None
        )
        p["pcl5_post"] = (sum(post_items) if post_items else draw(st.integers(0, 80))) if completer else None
        p["post_items"] = post_items
        p["post_total_given"] = post_items is None or draw(st.booleans())
        days = draw(st.integers(0, 400))
        dated = "dates" in present and draw(st.booleans())
        p["date_pre"] = draw(st.dates(dt.date(2015, 1, 1), dt.date(2025, 12, 31))) if dated else None
        p["date_post"] = p["date_pre"] + dt.timedelta(days=days) if p["date_pre"] and draw(st.booleans()) else None
        p["days_given"] = "days_between" in present and draw(st.booleans())
        p["days_between"] = days if p["days_given"] or p["date_post"] else None
        p["age"] = draw(st.none() | st.integers(18, 110))
        p["gender"] = draw(st.none() | st.sampled_from(list(GENDER)))
        p["race_ethnicity"] = draw(st.text(TEXT_ALPHABET, max_size=12))
        p["n_infusions"] = draw(st.none() | st.integers(1, 40))
        p["n_psych_meds"] = draw(st.none() | st.integers(0, 12))
        p["suicidal_ideation"] = draw(st.none() | st.booleans())
        p["psychotherapy"] = draw(st.none() | st.booleans())
        patients.append(p)

    header = ["patient_id", "pcl5_pre", "pcl5_post"]
    header += [
        c
        for c in (
            "days_between",
            "age",
            "gender",
            "race_ethnicity",
            "n_infusions",
            "n_psych_meds",
            "suicidal_ideation",
            "psychotherapy",
        )
        if c in present
    ]
    header += ["date_pre", "date_post"] if "dates" in present else []
    header += PRE if "pre_items" in present else []
    header += POST if "post_items" in present else []
    header = draw(st.permutations(header))

    def cell(p, col):
        def maybe_int(v):
            return spell_missing(draw) if v is None else spell_int(draw, v)

        if col == "patient_id":
            return padded(draw, p["patient_id"])
        if col == "pcl5_pre":
            return spell_int(draw, p["pcl5_pre"]) if p["pre_total_given"] else spell_missing(draw)
        if col == "pcl5_post":
            return maybe_int(p["pcl5_post"] if p["post_total_given"] else None)
        if col in PRE or col in POST:
            items = p["pre_items"] if col in PRE else p["post_items"]
            return maybe_int(None if items is None else items[int(col[-2:]) - 1])
        if col == "days_between":
            return maybe_int(p["days_between"] if p["days_given"] else None)
        if col in ("date_pre", "date_post"):
            d = p[col]
            return spell_missing(draw) if d is None else d.isoformat() + draw(st.sampled_from(["", " 00:00:00"]))
        if col in ("age", "n_infusions", "n_psych_meds"):
            return maybe_int(p[col])
        if col in ("gender", "suicidal_ideation", "psychotherapy"):
            v = p[col]
            if v is None:
                return spell_missing(draw)
            spellings = GENDER[v] if col == "gender" else BOOLEAN[v]
            return padded(draw, random_case(draw, draw(st.sampled_from(spellings))))
        if col == "race_ethnicity":
            return p["race_ethnicity"]
        raise AssertionError(col)

    rows = [[cell(p, col) for col in header] for p in patients]
    spelled = [padded(draw, random_case(draw, h)) for h in header]
    return list(header), spelled, rows, patients, present


def expected_frame(patients, present) -> pd.DataFrame:
    def col(name, dtype, always=False):
        def value(p):
            if not always and name not in present:
                return None  # an absent optional column is all missing
            return expected_text(p[name]) if name == "race_ethnicity" else p[name]

        return pd.array([value(p) for p in patients], dtype=dtype)

    frame = pd.DataFrame(
        {
            "patient_id": col("patient_id", "string", always=True),
            "pcl5_pre": col("pcl5_pre", "Int64", always=True),
            "pcl5_post": col("pcl5_post", "Int64", always=True),
            "days_between": col("days_between", "Int64", always=True),
            "age": col("age", "Int64"),
            "gender": col("gender", "string"),
            "race_ethnicity": col("race_ethnicity", "string"),
            "n_infusions": col("n_infusions", "Int64"),
            "n_psych_meds": col("n_psych_meds", "Int64"),
            "suicidal_ideation": col("suicidal_ideation", "boolean"),
            "psychotherapy": col("psychotherapy", "boolean"),
        }
    )
    for key, names in (("pre_items", PRE), ("post_items", POST)):
        if key in present:
            for i, c in enumerate(names):
                frame[c] = pd.array([None if p[key] is None else p[key][i] for p in patients], dtype="Int64")
    return frame


def write(folder: Path, fmt: str, header: list[str], rows: list[list[str]]) -> tuple[Path, int]:
    """Write the grid in a format; returns the path and the row number of the first data row."""
    if fmt == "csv":
        path = folder / "cohort.csv"
        buf = io.StringIO()
        quoting = csv.QUOTE_ALL if sum(map(len, header)) % 2 else csv.QUOTE_MINIMAL
        writer = csv.writer(buf, lineterminator="\n", quoting=quoting)
        writer.writerow(header)
        writer.writerows(rows)
        path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    elif fmt == "parquet":
        path = folder / "cohort.parquet"
        pq.write_table(pa.table({h: [r[i] for r in rows] for i, h in enumerate(header)}), path)
    else:
        path = folder / "cohort.xlsx"
        wb = openpyxl.Workbook()
        wb.active.append(header)
        for r in rows:
            wb.active.append(r)
        wb.save(path)
    return path, 2


def line_of_row(fmt: str, header, rows, k: int) -> int:
    """The row number a person sees for data row k: for CSV, count the lines quoted values span."""
    if fmt != "csv":
        return k + 2
    return 2 + k + sum(c.count("\n") for c in header) + sum(c.count("\n") for r in rows[:k] for c in r)


FORMATS = st.sampled_from(["csv", "csv", "csv", "parquet", "xlsx"])


@SETTINGS
@given(cohorts(), FORMATS)
def test_valid_cohorts_validate_to_their_values(data, fmt):
    names, header, rows, patients, present = data
    with tempfile.TemporaryDirectory() as d:
        path, _ = write(Path(d), fmt, header, rows)
        result = validate_file(path)
    assert result.errors == [], [str(p) for p in result.errors]
    pd.testing.assert_frame_equal(result.cohort, expected_frame(patients, present))


def corruptions(name: str, row: list[str], header: list[str], patient: dict, k: int, ids: list[str]):
    """Ways to break one cell so that the only errors are at that cell's row, naming that column."""
    out = []
    if name == "patient_id":
        out.append("")
        if k > 0:
            out.append(ids[0])  # a repeat of the first row's id
    if name in INTEGER_COLUMNS:
        lo, hi = INTEGER_COLUMNS[name]
        out += ["abc", "12.5", "1e3", "inf", str(lo - 1), str(lo - 7)]
        if hi is not None:
            out += [str(hi + 1), str(hi + 50)]
    if name == "pcl5_pre" and patient["pre_items"] is None:
        out.append("")  # the baseline total is required
    for tp, items in (("pre", PRE), ("post", POST)):
        if name == f"pcl5_{tp}" and patient[f"{tp}_items"] is not None:
            total = sum(patient[f"{tp}_items"])
            out.append(str(total + 1 if total < 80 else total - 1))  # disagrees with its items
        if name in items and patient[f"{tp}_items"] is not None and tp == "pre":
            # Leaves the baseline's items without a total (the test validates without proration); a post
            # assessment without a total is a dropout, with a warning.
            out.append("")
    if name in ("date_pre", "date_post"):
        out += ["2023-02-29", "31/12/2023", "not a date", "2024-13-01"]
    if name == "date_post" and patient["date_post"] is not None:
        out.append((patient["date_pre"] - dt.timedelta(days=1)).isoformat())
    if name == "days_between" and patient["date_post"] is not None and patient["days_given"]:
        out.append(str(patient["days_between"] + 1))  # disagrees with the dates
    if name in ("suicidal_ideation", "psychotherapy"):
        out += ["maybe", "2", "yes please"]
    if name == "gender":
        out += ["robot", "x", "#N/A"]
    if name == "race_ethnicity":
        out += ["#N/A", "#DIV/0!"]
    return out


@SETTINGS
@given(cohorts(), FORMATS, st.data())
def test_one_corrupted_cell_is_reported_at_that_cell(data, fmt, draw):
    names, header, rows, patients, present = data
    k = draw.draw(st.integers(0, len(rows) - 1), label="row")
    j = draw.draw(st.integers(0, len(names) - 1), label="column")
    options = corruptions(names[j], rows[k], names, patients[k], k, [p["patient_id"] for p in patients])
    if not options:
        options = ["abc"] if names[j] in INTEGER_COLUMNS else []
    if not options:
        return  # nothing in this column can be broken on its own
    bad = [list(r) for r in rows]
    bad[k][j] = draw.draw(st.sampled_from(options), label="value")
    with tempfile.TemporaryDirectory() as d:
        path, _ = write(Path(d), fmt, header, bad)
        # No proration (pcl5_items_missing_max 0): one emptied item is then a broken cell, not a prorated total.
        result = validate_file(path, items_missing_max=0)
    assert not result.ok and result.cohort is None
    row = line_of_row(fmt, header, bad, k)
    assert all(p.row == row for p in result.errors), [str(p) for p in result.errors]
    assert any(p.column == names[j] for p in result.errors), [str(p) for p in result.errors]


CELLS = st.sampled_from(
    [
        "",
        " ",
        "52",
        "52.5",
        "-1",
        "abc",
        "NA",
        "#N/A",
        "2024-02-30",
        "2024-01-01",
        "yes",
        "F",
        '"',
        '""',
        "a\nb",
        "\t",
        ",",
        "é",
        "\u00a0",
        "1e309",
        "inf",
        "🙂",
        "\x00",
    ]
)
NAMES = st.sampled_from(
    [
        "patient_id",
        "pcl5_pre",
        "pcl5_post",
        "PCL5_PRE",
        "age",
        "gender",
        "date_pre",
        "date_post",
        "days_between",
        "pcl5_pre_01",
        "pcl5_post_20",
        "",
        " ",
        "x",
        "psychotherapy",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(NAMES, min_size=1, max_size=8),
    st.lists(st.lists(CELLS, min_size=0, max_size=9), max_size=6),
    st.binary(max_size=200),
    st.text(',\n"\r ;\tpa1.5-é', max_size=80),
    st.sampled_from(["csv", "text.csv", "raw.csv", "raw.xlsx", "raw.parquet"]),
)
def test_arbitrary_input_never_raises(names, grid, blob, text, kind):
    with tempfile.TemporaryDirectory() as d:
        if kind == "csv":
            path = Path(d) / "cohort.csv"
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows([names] + grid)
            path.write_text(buf.getvalue(), encoding="utf-8", newline="")
        elif kind == "text.csv":  # hand-made, often malformed CSV under a valid header
            path = Path(d) / kind
            path.write_text("patient_id,pcl5_pre,pcl5_post\n" + text, encoding="utf-8", newline="")
        else:
            path = Path(d) / kind
            path.write_bytes(blob)
        before = path.read_bytes()
        result = validate_file(path)
        assert path.read_bytes() == before
    assert isinstance(result, ValidationResult)
    assert result.ok == (result.cohort is not None)
    for p in result.errors + result.warnings:
        assert str(p).startswith(str(path))
        assert p.row is None or p.row >= 1
