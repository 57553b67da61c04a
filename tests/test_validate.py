"""The data contract's "Bad input" section, one rule per test, against hand-written files.

Expected row numbers are counted by hand from the file text each test writes (header = row 1), and
expected normalized values are typed out, never taken from the code under test.
"""

from __future__ import annotations

import datetime as dt
import doctest
import hashlib
import os

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ketamine_ptsd.data import contract, validate
from ketamine_ptsd.data.validate import (
    Problem,
    ValidationFailed,
    ValidationResult,
    load_cohort,
    validate_file,
    validate_frame,
)
from ketamine_ptsd.paths import DATA

HEADER = "patient_id,pcl5_pre,pcl5_post"
PRE = [f"pcl5_pre_{i:02d}" for i in range(1, 21)]
POST = [f"pcl5_post_{i:02d}" for i in range(1, 21)]


def write(tmp_path, text: str | bytes, name: str = "cohort.csv"):
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def check(path) -> ValidationResult:
    result = validate_file(path)
    assert isinstance(result, ValidationResult)
    return result


def only_error(result: ValidationResult) -> Problem:
    assert not result.ok
    assert result.cohort is None
    assert len(result.errors) == 1, [str(p) for p in result.errors]
    return result.errors[0]


def error_at(result: ValidationResult, row, column) -> Problem:
    hits = [p for p in result.errors if p.row == row and p.column == column]
    assert hits, f"no error at row {row}, column {column}: {[str(p) for p in result.errors]}"
    return hits[0]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    return ",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows)


# --- Problem ----------------------------------------------------------------------------------------


def test_problem_str_has_every_part_it_knows():
    assert str(Problem("c.csv", 5, "age", "out of range: must be 18-110", "17")) == (
        "c.csv: row 5: column age: out of range: must be 18-110 (17)"
    )
    assert str(Problem("c.csv", None, None, "file is empty", None)) == "c.csv: file is empty"
    assert str(Problem("c.csv", None, "pcl5_post", "missing required column")) == (
        "c.csv: column pcl5_post: missing required column"
    )
    assert str(Problem("c.csv", 3, None, "has 2 fields but the header has 3")) == (
        "c.csv: row 3: has 2 fields but the header has 3"
    )


def test_long_and_unprintable_values_are_shortened_and_escaped(tmp_path):
    long_value = "x" * 100
    r = check(write(tmp_path, f"{HEADER}\np1,{long_value},20\np2,52,a\tb\n"))
    p = error_at(r, 2, "pcl5_pre")
    assert len(p.value) <= 40 and p.value.endswith("...")
    p = error_at(r, 3, "pcl5_post")
    assert "\t" not in p.value and "\\t" in p.value
    assert "\n" not in str(p)


# --- the file as a whole ----------------------------------------------------------------------------


def test_missing_file(tmp_path):
    p = only_error(check(tmp_path / "nope.csv"))
    assert p.file == str(tmp_path / "nope.csv")
    assert p.row is None and "not found" in p.message


def test_directory(tmp_path):
    d = tmp_path / "cohort.csv"
    d.mkdir()
    assert "directory" in only_error(check(d)).message


def test_empty_file(tmp_path):
    assert str(only_error(check(write(tmp_path, b"")))) == f"{tmp_path / 'cohort.csv'}: file is empty"


def test_whitespace_only_file_is_empty(tmp_path):
    assert only_error(check(write(tmp_path, "\n  \n"))).message == "file is empty"


def test_header_only_file(tmp_path):
    assert "no data rows" in only_error(check(write(tmp_path, HEADER + "\n"))).message


def test_header_and_empty_rows_only(tmp_path):
    assert "no data rows" in only_error(check(write(tmp_path, HEADER + "\n,,\n\n"))).message


@pytest.mark.parametrize(
    "name, words",
    [
        ("cohort.txt", "unsupported file type ('.txt')"),
        ("cohort.tsv", "unsupported file type ('.tsv')"),
        ("cohort", "unsupported file type (no extension)"),
        ("cohort.xls", ".xls"),
    ],
)
def test_unsupported_extension(tmp_path, name, words):
    assert words in only_error(check(write(tmp_path, f"{HEADER}\np1,52,20\n", name))).message


def test_binary_file_named_csv(tmp_path):
    p = only_error(check(write(tmp_path, bytes(range(256)) * 4)))
    assert "binary" in p.message


def test_xlsx_named_csv(tmp_path):
    path = tmp_path / "real.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["patient_id"])
    wb.save(path)
    renamed = write(tmp_path, path.read_bytes(), "cohort.csv")
    assert ".xlsx" in only_error(check(renamed)).message


@pytest.mark.parametrize("sep, shown", [(";", "';'"), ("\t", "tabs"), ("|", "'|'")])
def test_wrong_delimiter(tmp_path, sep, shown):
    text = f"patient_id{sep}pcl5_pre{sep}pcl5_post\np1{sep}52{sep}20\n"
    p = only_error(check(write(tmp_path, text)))
    assert p.message.startswith(f"found {shown}")
    assert "between the columns, not commas: save it as 'CSV UTF-8 (Comma delimited)'" in p.message


def test_semicolon_message_is_exact(tmp_path):
    p = only_error(check(write(tmp_path, "patient_id;pcl5_pre;pcl5_post\np1;52,5;20\n")))
    assert p.message.startswith("found ';' between the columns, not commas") and "decimal commas" in p.message
    # Or the file is read as it is: the mapping's format: says how.
    assert p.message.endswith(
        "through --columns and a column mapping whose format: names its delimiter and decimal mark "
        "(`ketamine-ptsd columns FILE` writes one)"
    )


def test_latin1_file(tmp_path):
    text = f"{HEADER},race_ethnicity\np1,52,20,White\np2,50,20,White\np3,50,20,White\np4,50,20,Latino/Hispánico\n"
    p = only_error(check(write(tmp_path, text.encode("latin-1"))))
    assert p.message.startswith("not UTF-8 (byte 0xe1 at line 5); looks like Latin-1")


def test_utf16_file(tmp_path):
    p = only_error(check(write(tmp_path, f"{HEADER}\np1,52,20\n".encode("utf-16"))))
    assert "UTF-16" in p.message


def test_utf8_bom_crlf_and_column_case_are_tolerated(tmp_path):
    text = "\ufeff Patient_ID ,PCL5_Pre,pcl5_POST\r\np1,52,20\r\np2,40,\r\n"
    r = check(write(tmp_path, text))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["patient_id"].tolist() == ["p1", "p2"]
    assert r.cohort["pcl5_post"].isna().tolist() == [False, True]


def test_excel_separator_hint_line_is_skipped_and_counted(tmp_path):
    r = check(write(tmp_path, f"sep=,\n{HEADER}\np1,52,20\np2,x,20\n"))
    p = only_error(r)
    assert (p.row, p.column) == (4, "pcl5_pre")


def test_excel_separator_hint_for_semicolons(tmp_path):
    p = only_error(check(write(tmp_path, "sep=;\npatient_id;pcl5_pre;pcl5_post\np1;52;20\n")))
    assert p.message.startswith("found ';' between the columns, not commas") and "decimal commas" in p.message


def test_rows_with_the_wrong_number_of_fields(tmp_path):
    text = f"{HEADER}\np1,52,20\np2,52\np3,52,20,7\np4,52,20,,\n"
    r = check(write(tmp_path, text))
    assert [(p.row, p.column) for p in r.errors] == [(3, None), (4, None)]
    assert r.errors[0].message == "has 2 fields but the header has 3"
    assert r.errors[1].message == "has 4 fields but the header has 3"


def test_quoted_value_with_a_newline_keeps_line_numbers(tmp_path):
    text = (
        '"patient_id","pcl5_pre","pcl5_post","race_ethnicity"\n'
        '"p1","52","20","White,\nHispanic"\n'
        '"p2","52","abc","Black"\n'
    )
    r = check(write(tmp_path, text))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (4, "pcl5_post", "abc")


def test_unterminated_quote(tmp_path):
    text = f'{HEADER},race_ethnicity\np1,52,20,White\np2,52,20,"Black\np3,50,20,Asian\n'
    p = only_error(check(write(tmp_path, text)))
    assert p.row == 3 and 'closing "' in p.message


def test_empty_rows_in_the_middle_are_skipped(tmp_path):
    r = check(write(tmp_path, f"{HEADER}\np1,52,20\n\n,,\np2,50,abc\n"))
    p = only_error(r)
    assert (p.row, p.column) == (5, "pcl5_post")


# --- columns ----------------------------------------------------------------------------------------


def column_errors(result: ValidationResult) -> Problem:
    """The one column-level error, after the line that points to ``ketamine-ptsd columns``."""
    pointer, *rest = result.errors
    assert pointer.column is None and "`ketamine-ptsd columns " in pointer.message and "--columns" in pointer.message
    assert len(rest) == 1, [str(p) for p in rest]
    return rest[0]


def test_missing_required_column(tmp_path):
    p = column_errors(check(write(tmp_path, "patient_id,pcl5_pre\np1,52\n")))
    assert (p.row, p.column) == (None, "pcl5_post")
    assert p.message.startswith("missing required column")


def test_missing_required_column_names_a_near_miss(tmp_path):
    p = column_errors(check(write(tmp_path, "Patient ID,pcl5_pre,pcl5_post\np1,52,20\n")))
    assert p.column == "patient_id" and "'Patient ID'" in p.message


def test_duplicate_column_names(tmp_path):
    r = check(write(tmp_path, "patient_id,pcl5_pre,PCL5_PRE ,pcl5_post\np1,52,52,20\n"))
    p = only_error(r)
    assert (p.row, p.column) == (None, "pcl5_pre")
    assert "duplicate column name (columns 2 and 3)" in p.message


def test_extra_columns_are_named_in_warnings_and_kept_out(tmp_path):
    r = check(write(tmp_path, f"{HEADER},site,Notes\np1,52,20,NYC,ok\n"))
    assert r.ok
    assert sorted(p.column for p in r.warnings) == ["Notes", "site"]
    assert all("unknown column" in p.message for p in r.warnings)
    assert r.cohort.attrs["extra_columns"] == ["Notes", "site"]
    assert "site" not in r.cohort.columns


def test_incomplete_item_columns(tmp_path):
    header = HEADER.split(",") + PRE[:19]
    r = check(write(tmp_path, csv_text(header, [["p1", "19", "10"] + ["1"] * 19])))
    p = only_error(r)
    assert (p.row, p.column) == (None, "pcl5_pre_20")
    assert "item columns incomplete" in p.message


def test_items_can_replace_a_total_column(tmp_path):
    header = ["patient_id", "pcl5_pre"] + POST
    r = check(write(tmp_path, csv_text(header, [["p1", "52"] + ["1"] * 20, ["p2", "40"] + [""] * 20])))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["pcl5_post"].tolist() == [20, pd.NA]
    assert list(r.cohort.columns[-20:]) == POST


# --- integers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, words",
    [
        ("52.5", "fraction"),
        ("abc", "text"),
        ("1e309", "too large"),
        ("inf", "infinite"),
        ("-inf", "infinite"),
        ("5e1", "no exponent"),
        ('"52,5"', "decimal comma"),
        ("#VALUE!", "spreadsheet error"),
    ],
)
def test_not_a_whole_number(tmp_path, value, words):
    r = check(write(tmp_path, f"{HEADER}\np1,52,20\np2,{value},20\n"))
    p = only_error(r)
    assert (p.row, p.column) == (3, "pcl5_pre")
    assert words in p.message
    assert p.value == value.strip('"')


@pytest.mark.parametrize("value, expected", [("52.0", 52), ("52.00", 52), (" 52 ", 52), ("+52", 52), ("052", 52)])
def test_whole_numbers_as_spreadsheets_write_them(tmp_path, value, expected):
    r = check(write(tmp_path, f"{HEADER}\np1,{value},20\n"))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["pcl5_pre"].tolist() == [expected]


@pytest.mark.parametrize(
    "column, value, range_text",
    [
        ("pcl5_pre", "81", "0-80"),
        ("pcl5_pre", "-1", "0-80"),
        ("pcl5_post", "81", "0-80"),
        ("age", "17", "18-110"),
        ("age", "111", "18-110"),
        ("n_infusions", "0", ">= 1"),
        ("n_psych_meds", "-1", ">= 0"),
        ("days_between", "-3", ">= 0"),
        ("pcl5_pre", "1000000000000000000000", "0-80"),
        ("n_psych_meds", "-1000000000000000000000", ">= 0"),
    ],
)
def test_out_of_range(tmp_path, column, value, range_text):
    header = ["patient_id", "pcl5_pre", "pcl5_post", column] if column not in HEADER else HEADER.split(",")
    good = {"patient_id": "p1", "pcl5_pre": "52", "pcl5_post": "20", column: {"age": "40"}.get(column, "3")}
    bad = dict(good, patient_id="p2")
    bad[column] = value
    r = check(write(tmp_path, csv_text(header, [[good[h] for h in header], [bad[h] for h in header]])))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, column, value)
    assert p.message.endswith(f"must be {range_text}")


def test_huge_count_is_too_large(tmp_path):
    p = only_error(check(write(tmp_path, f"{HEADER},n_psych_meds\np1,52,20,99999999999999999999\n")))
    assert (p.row, p.column, p.message) == (2, "n_psych_meds", "too large")


@pytest.mark.parametrize(
    "column, value",
    [
        ("age", "18"),
        ("age", "110"),
        ("n_infusions", "1"),
        ("n_psych_meds", "0"),
        ("days_between", "0"),
        ("pcl5_pre", "80"),
    ],
)
def test_range_edges_are_legal(tmp_path, column, value):
    header = HEADER.split(",") + ([column] if column not in HEADER else [])
    row = {"patient_id": "p1", "pcl5_pre": "52", "pcl5_post": "20", column: value}
    r = check(write(tmp_path, csv_text(header, [[row[h] for h in header]])))
    assert r.ok, [str(p) for p in r.errors]


# --- items ------------------------------------------------------------------------------------------


def items_file(tmp_path, rows):
    return write(tmp_path, csv_text(HEADER.split(",") + PRE, rows))


def test_item_out_of_range(tmp_path):
    items = ["2"] * 6 + ["5"] + ["2"] * 13
    r = check(items_file(tmp_path, [["p1", "", "10"] + ["2"] * 20, ["p2", "", "10"] + items]))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, "pcl5_pre_07", "5")
    assert p.message.endswith("must be 0-4")


def test_items_and_total_disagree(tmp_path):
    r = check(items_file(tmp_path, [["p1", "40", "10"] + ["2"] * 20, ["p2", "41", "10"] + ["2"] * 20]))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, "pcl5_pre", "41")
    assert "sum of items" in p.message and "40" in p.message


def scores(pattern: str) -> list[str]:
    """20 item cells from a 20-character pattern: a digit is a score, ``.`` an empty cell."""
    assert len(pattern) == 20
    return ["" if c == "." else c for c in pattern]


def test_a_total_is_prorated_from_items_with_a_few_empty(tmp_path):
    # Row 2 answers 01234 four times without items 03 and 19 (a 2 and a 3): 40 - 5 = 35 over 18 items;
    # 35 / 18 * 20 = 38.89 -> 39. Row 3 answers 19 items of 3 (57): 57 / 19 * 20 = 60.
    first = scores("01.340123401234012.4")
    second = scores("3333333333333333333.")
    r = check(items_file(tmp_path, [["p1", "", "10"] + first, ["p2", "", "12"] + second]))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["pcl5_pre"].tolist() == [39, 60]
    assert r.cohort.attrs["prorated_totals"] == 2 and "pcl5_pre" in r.cohort.attrs["derived_columns"]
    assert r.cohort.attrs["prorated_patients"] == 2
    assert [str(w) for w in r.warnings] == [
        f"{tmp_path / 'cohort.csv'}: column pcl5_pre: 2 total(s) prorated from pre-treatment items with at most 2 "
        "of 20 empty: the mean of the answered items x 20 (rows 2, 3)"
    ]


def test_a_half_point_prorated_total_rounds_up(tmp_path):
    # 18 items summing 45: 45 / 18 * 20 = 50 exactly; 18 summing 44: 48.89 -> 49; 19 summing 37: 38.95 -> 39;
    # 16 summing 30 with a limit of 4: 37.5 -> 38 (half up, not to even).
    rows = [
        ["p1", "", "10"] + scores("333333333222222222.."),
        ["p2", "", "10"] + scores("333333332222222222.."),
        ["p3", "", "10"] + scores("2222222222222222221."),
        ["p4", "", "10"] + scores("2222222222222211...."),
    ]
    r = validate_file(items_file(tmp_path, rows), items_missing_max=4)
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["pcl5_pre"].tolist() == [50, 49, 39, 38]


def test_a_given_total_beside_empty_items_is_their_sum_or_the_prorated_total(tmp_path):
    items = scores("3333333333333333333.")  # answered sum 57, prorated 60
    for total, ok in (("57", True), ("60", True), ("58", False)):
        r = check(items_file(tmp_path, [["p1", total, "10"] + items]))
        assert r.ok is ok, [str(p) for p in r.errors]
        if ok:
            assert r.cohort["pcl5_pre"].tolist() == [60]
    p = only_error(r)
    assert (p.row, p.column, p.value) == (2, "pcl5_pre", "58")
    assert "1 of 20 are empty, and the mean of the 19 answered x 20 is 60 (their sum 57)" in p.message


def test_beyond_the_limit_a_baseline_is_an_error_naming_the_empty_items(tmp_path):
    items = scores("22.2222222222222..22")
    r = check(items_file(tmp_path, [["p1", "40", "10"] + ["2"] * 20, ["p2", "", "10"] + items]))
    p = only_error(r)
    assert (p.row, p.column) == (3, "pcl5_pre_03")
    assert p.message.startswith(
        "3 of 20 pre-treatment items empty (pcl5_pre_03, pcl5_pre_17, pcl5_pre_18): more than 2"
    )
    # The same file with a limit of 3 prorates it: 17 items of 2 (34) over 17, x 20 = 40.
    r = validate_file(items_file(tmp_path, [["p1", "40", "10"] + ["2"] * 20, ["p2", "", "10"] + items]), None, 3)
    assert r.ok and r.cohort["pcl5_pre"].tolist() == [40, 40]
    # A limit of 0 turns proration off: one empty item is too many.
    one = scores("2222222222222222222.")
    p = only_error(validate_file(items_file(tmp_path, [["p1", "", "10"] + one]), None, 0))
    assert (p.row, p.column) == (2, "pcl5_pre_20") and "more than 0 (pcl5_items_missing_max)" in p.message


def test_beyond_the_limit_a_post_assessment_is_missing_with_one_warning(tmp_path):
    header = HEADER.split(",") + POST
    done, sparse = ["1"] * 20, scores("1111111111111111....")
    rows = [["p1", "50", ""] + done, ["p2", "50", ""] + sparse, ["p3", "50", "30"] + sparse, ["p4", "50", ""] + done]
    r = check(write(tmp_path, csv_text(header, rows)))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["pcl5_post"].tolist() == [20, pd.NA, pd.NA, 20]  # a given total goes with its items
    assert [str(w) for w in r.warnings] == [
        f"{tmp_path / 'cohort.csv'}: column pcl5_post: 2 post-treatment assessment(s) with more than 2 of 20 items "
        "empty (pcl5_items_missing_max): no total, taken as missing (rows 3, 4)"
    ]


def test_total_derived_from_items(tmp_path):
    items = [str(i % 5) for i in range(20)]  # 0+1+2+3+4 four times = 40
    r = check(items_file(tmp_path, [["p1", "", "10"] + items, ["p2", "33", "12"] + [""] * 20]))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["pcl5_pre"].tolist() == [40, 33]
    assert r.cohort["pcl5_pre_05"].tolist() == [4, pd.NA]
    assert r.cohort.attrs["derived_columns"] == ["pcl5_pre"]


def test_empty_total_without_items_is_an_error(tmp_path):
    r = check(items_file(tmp_path, [["p1", "40", "10"] + ["2"] * 20, ["p2", "", "10"] + [""] * 20]))
    p = only_error(r)
    assert (p.row, p.column) == (3, "pcl5_pre")


def test_empty_baseline_total(tmp_path):
    p = only_error(check(write(tmp_path, f"{HEADER}\np1,52,20\np2,,20\n")))
    assert (p.row, p.column) == (3, "pcl5_pre") and "required" in p.message


# --- identifiers ------------------------------------------------------------------------------------


def test_duplicate_ids_name_the_first_row(tmp_path):
    r = check(write(tmp_path, f"{HEADER}\np1,52,20\np2,52,20\np1,50,20\np1,45,20\n"))
    assert [(p.row, p.column, p.value) for p in r.errors] == [(4, "patient_id", "p1"), (5, "patient_id", "p1")]
    assert all("first seen at row 2" in p.message for p in r.errors)


def test_ids_are_compared_after_trimming(tmp_path):
    r = check(write(tmp_path, f"{HEADER}\np1,52,20\n p1 ,52,20\n"))
    assert (only_error(r).row, only_error(r).column) == (3, "patient_id")


def test_empty_id(tmp_path):
    p = only_error(check(write(tmp_path, f"{HEADER}\np1,52,20\n  ,52,20\n")))
    assert (p.row, p.column) == (3, "patient_id") and "empty" in p.message


# --- dates ------------------------------------------------------------------------------------------


DATES = "patient_id,pcl5_pre,pcl5_post,date_pre,date_post"


def test_impossible_date(tmp_path):
    r = check(write(tmp_path, f"{DATES}\np1,52,20,2024-01-01,2024-02-01\np2,52,20,2024-02-30,2024-03-01\n"))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, "date_pre", "2024-02-30")
    assert "impossible date" in p.message


@pytest.mark.parametrize("value", ["03/15/2024", "15.03.2024", "yesterday", "2024-1-5"])
def test_dates_not_in_iso_form(tmp_path, value):
    r = check(write(tmp_path, f"{DATES}\np1,52,20,2024-01-01,{value}\n"))
    p = only_error(r)
    assert (p.row, p.column) == (2, "date_post") and "YYYY-MM-DD" in p.message


def test_dates_in_the_wrong_order(tmp_path):
    r = check(write(tmp_path, f"{DATES}\np1,52,20,2024-01-01,2024-02-01\np2,52,20,2024-03-01,2024-02-01\n"))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, "date_post", "2024-02-01")
    assert "before date_pre" in p.message


def test_days_between_disagrees_with_dates(tmp_path):
    text = f"{DATES},days_between\np1,52,20,2024-01-01,2024-01-11,10\np2,52,20,2024-01-01,2024-01-11,9\n"
    r = check(write(tmp_path, text))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, "days_between", "9")


def test_days_derived_from_dates(tmp_path):
    text = (
        f"{DATES}\np1,52,20,2024-01-01,2024-03-01\np2,50,,2024-01-01,\n"
        "p3,45,30,2023-12-31 00:00:00,2024-01-01T09:30:00\n"
    )
    r = check(write(tmp_path, text))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["days_between"].tolist() == [60, pd.NA, 1]  # 2024 is a leap year: 31 + 29
    assert "days_between" not in r.cohort.attrs["absent_columns"]
    assert "date_pre" not in r.cohort.columns


def test_one_date_column_alone_is_ignored_with_a_warning(tmp_path):
    r = check(write(tmp_path, "patient_id,pcl5_pre,pcl5_post,date_pre\np1,52,20,2024-01-01\n"))
    assert r.ok
    assert [p.column for p in r.warnings] == ["date_pre"]
    assert r.cohort["days_between"].isna().all()
    assert "days_between" in r.cohort.attrs["absent_columns"]


# --- categories and booleans ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("woman", "woman"),
        ("Female", "woman"),
        ("F", "woman"),
        ("f", "woman"),
        ("MAN", "man"),
        ("male", "man"),
        ("m", "man"),
        ("nonbinary", "nonbinary"),
        ("Non-Binary", "nonbinary"),
        ("other", "other"),
        ("", None),
        ("NA", None),
    ],
)
def test_gender_spellings(tmp_path, value, expected):
    r = check(write(tmp_path, f"{HEADER},gender\np1,52,20,{value}\np2,50,20,woman\n"))
    assert r.ok, [str(p) for p in r.errors]
    got = r.cohort["gender"].iloc[0]
    assert (got is pd.NA) if expected is None else (got == expected)


@pytest.mark.parametrize("value", ["x", "w", "females", "trans"])
def test_unknown_gender(tmp_path, value):
    p = only_error(check(write(tmp_path, f"{HEADER},gender\np1,52,20,woman\np2,52,20,{value}\n")))
    assert (p.row, p.column, p.value) == (3, "gender", value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("true", True),
        ("TRUE", True),
        ("Yes", True),
        ("1", True),
        ("1.0", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("0.0", False),
        ("", None),
        ("nan", None),
    ],
)
def test_boolean_spellings(tmp_path, value, expected):
    r = check(write(tmp_path, f"{HEADER},suicidal_ideation,psychotherapy\np1,52,20,{value},{value}\n"))
    assert r.ok, [str(p) for p in r.errors]
    for col in ("suicidal_ideation", "psychotherapy"):
        got = r.cohort[col].iloc[0]
        assert (got is pd.NA) if expected is None else (got == expected)


@pytest.mark.parametrize("value", ["maybe", "2", "y", "t", "oui"])
def test_unknown_boolean(tmp_path, value):
    r = check(write(tmp_path, f"{HEADER},psychotherapy\np1,52,20,yes\np2,52,20,{value}\n"))
    p = only_error(r)
    assert (p.row, p.column, p.value) == (3, "psychotherapy", value)


@pytest.mark.parametrize("marker", ["NA", "N/A", "nan", "NaN", "NULL", "None", "  "])
def test_missing_markers_count_as_empty(tmp_path, marker):
    text = f"{HEADER},age,race_ethnicity\np1,52,{marker},{marker},{marker}\np2,52,20,40,White\n"
    r = check(write(tmp_path, text))
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort.loc[0, ["pcl5_post", "age", "race_ethnicity"]].isna().all()


def test_spreadsheet_errors_are_errors_not_missing(tmp_path):
    r = check(write(tmp_path, f"{HEADER},race_ethnicity,gender\np1,52,20,#N/A,#REF!\n"))
    assert [(p.row, p.column) for p in r.errors] == [(2, "race_ethnicity"), (2, "gender")]  # file order
    assert all("spreadsheet error" in p.message for p in r.errors)


# --- the file-level rule ----------------------------------------------------------------------------


def test_no_completers(tmp_path):
    p = only_error(check(write(tmp_path, f"{HEADER}\np1,52,\np2,50,NA\n")))
    assert (p.row, p.column) == (None, "pcl5_post")
    assert p.message.startswith("no completers")


# --- everything at once -----------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_in_file_order(tmp_path):
    text = (
        "patient_id,pcl5_pre,pcl5_post,age,gender,psychotherapy,pcl5_post\n"
        "p1,52,20,40,woman,yes,20\n"
        "p2,52.5,20,17,woman,yes,20\n"
        "p1,52,abc,40,robot,maybe,20\n"
        ",90,20,40,man,no,20\n"
    )
    r = check(write(tmp_path, text))
    got = [(p.row, p.column) for p in r.errors]
    assert got == [
        (None, "pcl5_post"),  # the repeated column
        (3, "pcl5_pre"),
        (3, "age"),
        (4, "patient_id"),
        (4, "pcl5_post"),
        (4, "gender"),
        (4, "psychotherapy"),
        (5, "patient_id"),
        (5, "pcl5_pre"),
    ]
    assert len({str(p) for p in r.errors}) == len(r.errors)


def test_cells_after_a_problem_row_keep_their_row_numbers(tmp_path):
    rows = [f"p{i},{40 + i % 30},20" for i in range(200)]
    rows[150] = "p150,oops,20"
    r = check(write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n"))
    assert (only_error(r).row, only_error(r).column) == (152, "pcl5_pre")


# --- warnings ---------------------------------------------------------------------------------------


def test_unusual_values_warn_but_pass(tmp_path):
    text = "patient_id,pcl5_pre,pcl5_post,age,days_between,n_infusions\np1,32,20,91,366,31\np2,33,60,90,365,30\n"
    r = check(write(tmp_path, text))
    assert r.ok
    assert sorted((p.row, p.column) for p in r.warnings) == [
        (2, "age"),
        (2, "days_between"),
        (2, "n_infusions"),
        (2, "pcl5_pre"),
    ]


def test_post_above_pre_is_not_unusual(tmp_path):
    r = check(write(tmp_path, f"{HEADER}\np1,40,70\n"))
    assert r.ok and r.warnings == []


# --- formats ----------------------------------------------------------------------------------------


def test_parquet_reports_data_row_plus_one(tmp_path):
    path = tmp_path / "cohort.parquet"
    pq.write_table(
        pa.table(
            {
                "patient_id": ["a", "b", "c"],
                "pcl5_pre": [52.0, 52.5, 40.0],
                "pcl5_post": pa.array([20, None, 200], pa.int64()),
            }
        ),
        path,
    )
    r = check(path)
    assert [(p.row, p.column, p.value) for p in r.errors] == [(3, "pcl5_pre", "52.5"), (4, "pcl5_post", "200")]


def test_parquet_typed_columns_normalize(tmp_path):
    path = tmp_path / "cohort.pq"
    pq.write_table(
        pa.table(
            {
                "patient_id": pa.array(["a", "b"]).dictionary_encode(),
                "pcl5_pre": pa.array([52, 40], pa.int16()),
                "pcl5_post": [20.0, None],
                "date_pre": pa.array([dt.date(2024, 1, 1), dt.date(2024, 2, 1)]),
                "date_post": pa.array([dt.datetime(2024, 1, 15), None], pa.timestamp("ns")),
                "psychotherapy": [True, None],
                "gender": ["Female", None],
            }
        ),
        path,
    )
    r = check(path)
    assert r.ok, [str(p) for p in r.errors]
    c = r.cohort
    assert c["pcl5_post"].tolist() == [20, pd.NA]
    assert c["days_between"].tolist() == [14, pd.NA]
    assert c["psychotherapy"].tolist() == [True, pd.NA]
    assert c["gender"].tolist() == ["woman", pd.NA]


def test_parquet_with_no_rows(tmp_path):
    path = tmp_path / "cohort.parquet"
    pq.write_table(pa.table({"patient_id": pa.array([], pa.string())}), path)
    assert "no data rows" in only_error(check(path)).message


def test_text_named_parquet(tmp_path):
    p = only_error(check(write(tmp_path, f"{HEADER}\np1,52,20\n", "cohort.parquet")))
    assert "not a Parquet file" in p.message


def test_parquet_nested_values_matter_only_in_contract_columns(tmp_path):
    path = tmp_path / "cohort.parquet"
    pq.write_table(pa.table({"patient_id": ["a"], "pcl5_pre": [52], "pcl5_post": [20], "tags": [[1, 2]]}), path)
    assert check(path).ok
    pq.write_table(pa.table({"patient_id": ["a"], "pcl5_pre": [[52]], "pcl5_post": [20]}), path)
    assert only_error(check(path)).column == "pcl5_pre"


def xlsx(path, rows):
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    wb.create_sheet("not read")["A1"] = "ignored"
    wb.save(path)
    return path


def test_xlsx_rows_are_sheet_rows(tmp_path):
    path = xlsx(
        tmp_path / "cohort.xlsx",
        [
            ["patient_id", "pcl5_pre", "pcl5_post", "date_pre", "date_post", "psychotherapy"],
            ["p1", 52, 20, dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 31), True],
            [None] * 6,
            ["p2", 52.5, 20, dt.datetime(2024, 1, 1), "2024-02-30", "maybe"],
        ],
    )
    r = check(path)
    assert [(p.row, p.column) for p in r.errors] == [(4, "pcl5_pre"), (4, "date_post"), (4, "psychotherapy")]


def test_xlsx_header_below_empty_rows(tmp_path):
    path = xlsx(
        tmp_path / "cohort.xlsx", [[None], ["patient_id", "pcl5_pre", "pcl5_post"], ["p1", 52, 20], ["p2", "x", 20]]
    )
    p = only_error(check(path))
    assert (p.row, p.column) == (4, "pcl5_pre")


def test_xlsx_normalizes(tmp_path):
    path = xlsx(
        tmp_path / "cohort.xlsx",
        [
            ["patient_id", "pcl5_pre", "pcl5_post", "date_pre", "date_post", "suicidal_ideation", "age"],
            [101, 52, 20, dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 31), False, 30.0],
            [102, 40, None, dt.date(2024, 3, 1), None, None, None],
        ],
    )
    r = check(path)
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["patient_id"].tolist() == ["101", "102"]
    assert r.cohort["days_between"].tolist() == [30, pd.NA]
    assert r.cohort["suicidal_ideation"].tolist() == [False, pd.NA]
    assert r.cohort["age"].tolist() == [30, pd.NA]


def test_xlsx_with_a_wrong_stored_sheet_size_is_read_whole(tmp_path):
    import re
    import zipfile

    good = xlsx(tmp_path / "good.xlsx", [["patient_id", "pcl5_pre", "pcl5_post"], ["p1", 52, 20], ["p2", 40, "x"]])
    bad = tmp_path / "cohort.xlsx"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data, k = re.subn(rb'<dimension ref="[^"]+" ?/>', b'<dimension ref="A1"/>', data)
                assert k == 1
            zout.writestr(item, data)
    p = only_error(check(bad))  # a reader trusting the stored size "A1" would see no data rows
    assert (p.row, p.column) == (3, "pcl5_post")


def test_not_a_workbook(tmp_path):
    assert "not" in only_error(check(write(tmp_path, b"PK\x03\x04 broken", "cohort.xlsx"))).message
    assert ".csv" in only_error(check(write(tmp_path, f"{HEADER}\n", "text.xlsx"))).message


def test_empty_workbook(tmp_path):
    path = xlsx(tmp_path / "cohort.xlsx", [])
    assert "empty" in only_error(check(path)).message


# --- a valid file, normalized -----------------------------------------------------------------------


def test_valid_file_with_items_and_dates_normalizes(tmp_path):
    header = [
        "patient_id",
        "pcl5_pre",
        "pcl5_post",
        "days_between",
        "date_pre",
        "date_post",
        "age",
        "gender",
        "race_ethnicity",
        "n_infusions",
        "n_psych_meds",
        "suicidal_ideation",
        "psychotherapy",
    ] + PRE
    rows = [
        ["A1", "", "30", "", "2024-01-01", "2024-01-29", "41", "F", " White ", "6", "2", "yes", "TRUE"] + ["3"] * 20,
        ["A2", "52.0", "", "14", "", "", "", "male", "", "1", "0", "0", "no"] + [""] * 20,
        ["A3", "40", "41", "7", "2024-02-01", "2024-02-08", "110", "", "NA", "30", "", "", "1"] + ["2"] * 20,
    ]
    r = check(write(tmp_path, csv_text(header, rows)))
    assert r.ok, [str(p) for p in r.errors]
    expected = pd.DataFrame(
        {
            "patient_id": pd.array(["A1", "A2", "A3"], dtype="string"),
            "pcl5_pre": pd.array([60, 52, 40], dtype="Int64"),
            "pcl5_post": pd.array([30, None, 41], dtype="Int64"),
            "days_between": pd.array([28, 14, 7], dtype="Int64"),
            "age": pd.array([41, None, 110], dtype="Int64"),
            "gender": pd.array(["woman", "man", None], dtype="string"),
            "race_ethnicity": pd.array(["White", None, None], dtype="string"),
            "n_infusions": pd.array([6, 1, 30], dtype="Int64"),
            "n_psych_meds": pd.array([2, 0, None], dtype="Int64"),
            "suicidal_ideation": pd.array([True, False, None], dtype="boolean"),
            "psychotherapy": pd.array([True, False, True], dtype="boolean"),
            **{c: pd.array([3, None, 2], dtype="Int64") for c in PRE},
        }
    )
    pd.testing.assert_frame_equal(r.cohort, expected)
    assert r.cohort.attrs["absent_columns"] == sorted(POST)
    assert r.cohort.attrs["extra_columns"] == []
    assert [(p.row, p.column) for p in r.warnings] == [(4, "age")]  # 110 is legal but above 90


def test_absent_optional_columns_are_all_missing_and_listed(tmp_path):
    r = check(write(tmp_path, f"{HEADER},age\np1,52,20,40\n"))
    assert r.ok
    assert list(r.cohort.columns) == list(contract.COHORT_DTYPES)
    assert {c: str(t) for c, t in r.cohort.dtypes.items()} == contract.COHORT_DTYPES
    absent = set(r.cohort.attrs["absent_columns"])
    assert {
        "days_between",
        "gender",
        "race_ethnicity",
        "n_infusions",
        "n_psych_meds",
        "suicidal_ideation",
        "psychotherapy",
        "date_pre",
        "date_post",
    } <= absent
    assert "age" not in absent
    assert r.cohort.drop(columns=["patient_id", "pcl5_pre", "pcl5_post", "age"]).isna().all().all()


def test_bundled_example_file_is_valid():
    r = check(DATA / "example_cohort.csv")
    assert r.ok and r.warnings == [], [str(p) for p in r.errors + r.warnings]
    assert len(r.cohort) == 8
    assert r.cohort.attrs["absent_columns"] == []
    assert r.cohort["pcl5_post"].notna().sum() >= 1


# --- the input is never touched -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [f"{HEADER}\np1,52,20\n", f"{HEADER}\np1,52.5,20\n", "a;b\n1;2\n"])
def test_input_file_is_unchanged(tmp_path, text):
    path = write(tmp_path, text)
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns)
    check(path)
    after = (hashlib.sha256(path.read_bytes()).hexdigest(), os.stat(path).st_mtime_ns)
    assert before == after
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort.csv"]


# --- validate_frame, load_cohort ----------------------------------------------------------------------


def test_validate_frame_uses_row_offset():
    raw = pd.DataFrame({"patient_id": ["a", "b"], "pcl5_pre": ["52", "x"], "pcl5_post": ["20", "20"]})
    p = only_error(validate_frame(raw, file="sheet", row_offset=10))
    assert str(p) == "sheet: row 11: column pcl5_pre: must be a whole number; found text (x)"


def test_validate_frame_accepts_typed_columns():
    raw = pd.DataFrame(
        {"patient_id": [1, 2], "pcl5_pre": [52, 40], "pcl5_post": [20.0, np.nan], "psychotherapy": [True, False]}
    )
    r = validate_frame(raw)
    assert r.ok, [str(p) for p in r.errors]
    assert r.cohort["patient_id"].tolist() == ["1", "2"]
    assert r.cohort["pcl5_post"].tolist() == [20, pd.NA]


def test_load_cohort_raises_with_every_error(tmp_path):
    path = write(tmp_path, f"{HEADER}\np1,x,20\np1,52,y\n")
    with pytest.raises(ValidationFailed) as info:
        load_cohort(path)
    assert len(info.value.errors) == 3
    assert load_cohort(write(tmp_path, f"{HEADER}\np1,52,20\n", "ok.csv"))["pcl5_pre"].tolist() == [52]


# --- the contract as the book shows it ----------------------------------------------------------------


def test_columns_cover_the_contract_in_order():
    names = [c.name for c in contract.COLUMNS]
    assert names[:3] == ["patient_id", "pcl5_pre", "pcl5_post"]
    assert names[3:43] == PRE + POST
    assert names[43:] == [
        "days_between",
        "date_pre",
        "date_post",
        "age",
        "gender",
        "race_ethnicity",
        "n_infusions",
        "n_psych_meds",
        "suicidal_ideation",
        "psychotherapy",
    ]
    assert contract.ITEM_COLUMNS == {"pre": PRE, "post": POST}
    assert [c.name for c in contract.COLUMNS if c.required] == ["patient_id", "pcl5_pre", "pcl5_post"]


def test_data_dictionary_collapses_items_and_states_the_enforced_ranges():
    dd = contract.data_dictionary()
    assert list(dd.columns) == ["column", "required", "type", "rule", "description"]
    assert len(dd) == 15
    assert "pcl5_pre_01 .. pcl5_pre_20" in set(dd["column"])
    assert "pcl5_post_01 .. pcl5_post_20" in set(dd["column"])
    rules = dict(zip(dd["column"], dd["rule"]))
    assert "0-80" in rules["pcl5_pre"] and "0-80" in rules["pcl5_post"]
    assert "0-4" in rules["pcl5_pre_01 .. pcl5_pre_20"]
    assert "18-110" in rules["age"] and ">= 1" in rules["n_infusions"] and ">= 0" in rules["n_psych_meds"]
    assert ">= 0" in rules["days_between"]
    for spelling in ("female", "f", "male", "m"):
        assert spelling in rules["gender"]
    for c in contract.COLUMNS:
        assert c.kind in contract.KINDS and c.rule and c.description


@pytest.mark.parametrize("module", [contract, validate])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_rows_split_by_decimal_commas_are_named_with_their_cause_not_as_no_data(tmp_path):
    # A ';' file turned into commas by hand: 52,5 became two fields in every row.
    result = check(write(tmp_path, "patient_id,pcl5_pre,pcl5_post\np1,52,5,20\np2,40,30,0\n"))
    messages = [str(p) for p in result.errors]
    assert len(messages) == 2 and not any("no data rows" in m or "no completers" in m for m in messages)
    assert all(
        "has 4 fields but the header has 3; a number with a decimal comma (52,5) is split" in m for m in messages
    )
