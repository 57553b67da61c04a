"""Real clinic exports: the column mapping and the one-row-per-assessment format.

Each malformed long file or mapping file the issue lists is rejected with a message at the file's own line
(counted by hand from the text each case writes; header = row 1) and, through the command line, exit 2
with nothing written.
"""

from __future__ import annotations

import argparse
import io
import re

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.data.columns import suggest
from ketamine_ptsd.data.mapping import parse_mapping
from ketamine_ptsd.data.validate import ValidationFailed, validate_file

from .helpers import run

HEADER = "patient_id,assessment,days,pcl5"
GOOD = "a,pre,0,50\na,post,21,20\na,followup,60,30\nb,pre,0,60\nb,interim,7,55\nb,post,20,40\n"


def write(tmp_path, text: str, name: str = "long.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def messages(tmp_path, text: str, mapping: str | None = None) -> list[str]:
    data = write(tmp_path, text)
    columns = None if mapping is None else write(tmp_path, mapping, "map.yml")
    result = validate_file(data, columns)
    assert result.cohort is None
    return [str(p) for p in result.errors]


def test_long_file_gives_the_wide_cohort_and_the_later_assessments(tmp_path):
    result = validate_file(write(tmp_path, f"{HEADER},age\n" + GOOD.replace("\n", ",40\n")))
    assert result.ok, result.errors
    cohort = result.cohort
    assert cohort["patient_id"].tolist() == ["a", "b"]
    assert cohort["pcl5_pre"].tolist() == [50, 60]
    assert cohort["pcl5_post"].tolist() == [20, 40]
    assert cohort["days_between"].tolist() == [21, 20]
    assert cohort["age"].tolist() == [40, 40]
    later = result.assessments
    assert later["assessment"].tolist() == ["post", "followup", "interim", "post"]
    assert later["days_after_post"].tolist()[:2] == [0, 39]
    assert later["days_after_post"].isna().tolist() == [False, False, True, False]


def test_dates_give_days_and_a_patient_level_value_may_be_given_once(tmp_path):
    text = (
        "patient_id,assessment,date,pcl5,gender\n"
        "a,PRE,2024-01-01,50,f\na,Post,2024-01-22,20,\na,followup,2024-03-01,33,\nb,pre,2024-02-01,40,\n"
    )
    result = validate_file(write(tmp_path, text))
    assert result.ok, result.errors
    assert result.cohort["days_between"].tolist()[0] == 21
    assert result.cohort["gender"].tolist()[0] == "woman"
    assert pd.isna(result.cohort["pcl5_post"].iloc[1])  # b has no post: a dropout
    assert result.assessments["days_after_post"].tolist() == [0, 39]


def test_items_of_each_assessment_give_its_total(tmp_path):
    items = ",".join(f"pcl5_{i:02d}" for i in range(1, 21))
    rows = "\n".join(
        [
            f"a,pre,0,,{','.join(['3'] * 20)}",
            f"a,post,20,,{','.join(['1'] * 20)}",
            f"a,followup,50,20,{','.join(['1'] * 20)}",
        ]
    )
    result = validate_file(write(tmp_path, f"patient_id,assessment,days,pcl5,{items}\n{rows}\n"))
    assert result.ok, result.errors
    assert result.cohort[["pcl5_pre", "pcl5_post", "pcl5_pre_01", "pcl5_post_20"]].iloc[0].tolist() == [60, 20, 3, 1]
    bad = rows.replace("a,followup,50,20", "a,followup,50,25")
    assert messages(tmp_path, f"patient_id,assessment,days,pcl5,{items}\n{bad}\n") == [
        f"{tmp_path / 'long.csv'}: row 4: column pcl5: does not equal the sum of items pcl5_01 .. pcl5_20, which is 20 (25)"
    ]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            "a,pre,0,50\na,pre,0,52\na,post,20,30\n",
            "row 3: column assessment: a second pre assessment of this patient; the first is at row 2 (pre)",
        ),
        (
            "a,pre,0,50\na,followup,10,40\na,post,20,30\n",
            "row 3: column assessment: followup on or before the post assessment (row 4, day 20) (followup)",
        ),
        (
            "a,pre,0,50\na,post,20,30\na,interim,25,40\n",
            "row 4: column assessment: interim on or after the post assessment (row 3, day 20) (interim)",
        ),
        (
            "a,pre,0,50\na,post,20,30\na,week 4,28,40\n",
            "row 4: column assessment: unknown assessment; use pre, interim, post or followup (week 4)",
        ),
        ("a,pre,0,50\na,post,20,30\na,followup,40,81\n", "row 4: column pcl5: out of range: must be 0-80 (81)"),
        (
            "a,post,20,30\n",
            "row 2: column assessment: this patient has no pre assessment; every patient needs exactly one",
        ),
        (
            "a,pre,0,50\na,post,20,30\na,post,30,30\n",
            "row 4: column assessment: a second post assessment of this patient; the first is at row 3 (post)",
        ),
        ("a,pre,3,50\na,post,20,30\n", "row 2: column days: the pre assessment is day 0: days count from it (3)"),
        (
            "a,pre,0,50\na,post,20,30\na,followup,40,30\na,followup,40,31\n",
            "row 5: column assessment: the same assessment on the same day as row 4 (followup)",
        ),
    ],
)
def test_malformed_long_files_are_rejected_at_their_row(tmp_path, rows, expected):
    found = messages(tmp_path, f"{HEADER}\n{rows}")
    assert f"{tmp_path / 'long.csv'}: {expected}" in found, found


def test_a_patient_level_value_that_differs_names_both_rows(tmp_path):
    text = "patient_id,assessment,days,pcl5,age\na,pre,0,50,40\na,post,20,30,\na,followup,50,30,41\n"
    assert messages(tmp_path, text) == [
        f"{tmp_path / 'long.csv'}: row 4: column age: differs from row 2 of the same patient (row 2: 40; this row: 41)"
    ]


def test_adverse_events_recorded_per_visit_are_the_patients_at_any_visit(tmp_path):
    # a: dissociation at the second visit only; b: never; c: not recorded at any visit. Serious events alike.
    text = (
        "patient_id,assessment,days,pcl5,ae_dissociation,serious_adverse_event\n"
        "a,pre,0,50,no,no\na,post,20,30,yes,no\na,followup,50,30,no,\n"
        "b,pre,0,50,no,no\nb,post,20,30,no,no\n"
        "c,pre,0,50,,\nc,post,20,30,,\n"
    )
    result = validate_file(write(tmp_path, text))
    assert result.ok, [str(p) for p in result.errors]
    cohort = result.cohort.set_index("patient_id")
    assert cohort["ae_dissociation"].tolist() == [True, False, pd.NA]
    assert cohort["serious_adverse_event"].tolist() == [False, False, pd.NA]


def test_a_followup_without_post_is_left_out_with_a_warning(tmp_path):
    text = f"{HEADER}\na,pre,0,50\na,post,20,30\nb,pre,0,50\nb,followup,30,40\n"
    result = validate_file(write(tmp_path, text))
    assert result.ok, [str(p) for p in result.errors]
    assert [str(w) for w in result.warnings] == [
        f"{tmp_path / 'long.csv'}: row 5: column assessment: followup without a post assessment for this patient: "
        "left out of the durability analysis (followup)"
    ]
    assert result.cohort["pcl5_post"].isna().tolist() == [False, True]


ITEMS = ",".join(f"pcl5_{i:02d}" for i in range(1, 21))


def items_row(prefix: str, pattern: str) -> str:
    """A row of a long file with items: ``prefix`` (patient, assessment, days, total) then 20 item cells from
    ``pattern``, a digit per item and ``.`` for an empty one."""
    return prefix + "," + ",".join("" if c == "." else c for c in pattern)


def test_a_skipped_item_gives_a_prorated_total_counted_in_one_warning(tmp_path):
    rows = [
        items_row("a,pre,0,", "3333333333333333.333"),  # 19 items of 3: 57 / 19 * 20 = 60
        items_row("a,post,21,", "1111111111111111111."),  # 19 of 1: 20
        items_row("a,followup,60,", "22222222222222222..1"),  # 17 items, 33: 38.82 -> 39
        items_row("b,pre,0,", "2" * 20),
        items_row("b,post,20,", "1" * 20),
    ]
    result = validate_file(write(tmp_path, f"patient_id,assessment,days,pcl5,{ITEMS}\n" + "\n".join(rows) + "\n"))
    assert result.ok, [str(p) for p in result.errors]
    assert result.cohort["pcl5_pre"].tolist() == [60, 40] and result.cohort["pcl5_post"].tolist() == [20, 20]
    assert result.assessments["pcl5"].tolist() == [20, 39, 20]
    assert result.cohort.attrs["prorated_totals"] == 3 and result.cohort.attrs["prorated_patients"] == 1
    assert [str(w) for w in result.warnings] == [
        f"{tmp_path / 'long.csv'}: column pcl5: 3 total(s) prorated from assessment items with at most 2 of 20 "
        "empty: the mean of the answered items x 20 (rows 2, 3, 4)"
    ]


def test_an_assessment_with_too_many_items_empty_is_missing_and_a_baseline_an_error(tmp_path):
    header = f"patient_id,assessment,days,pcl5,{ITEMS}\n"
    rows = [
        items_row("a,pre,0,", "2" * 20),
        items_row("a,post,21,", "1" * 20),
        items_row("a,followup,60,30", "111111111111111....."),  # 5 empty: no total, even beside a given one
        items_row("b,pre,0,", "2" * 20),
        items_row("b,post,20,", "11111111111111111..."),  # 3 empty: b becomes a dropout
    ]
    result = validate_file(write(tmp_path, header + "\n".join(rows) + "\n"))
    assert result.ok, [str(p) for p in result.errors]
    assert result.cohort["pcl5_post"].tolist() == [20, pd.NA]
    assert result.assessments["assessment"].tolist() == ["post"]
    assert [str(w) for w in result.warnings] == [
        f"{tmp_path / 'long.csv'}: column pcl5: 2 assessment row(s) with more than 2 of 20 items empty "
        "(pcl5_items_missing_max): no total, left out (rows 4, 6)"
    ]
    baseline = [items_row("a,pre,0,", "222222222222222....."), items_row("a,post,21,", "1" * 20)]
    assert messages(tmp_path, header + "\n".join(baseline) + "\n") == [
        f"{tmp_path / 'long.csv'}: row 2: column pcl5_16: 5 of 20 assessment items empty (pcl5_16, pcl5_17, "
        "pcl5_18, pcl5_19, pcl5_20): more than 2 (pcl5_items_missing_max), so no total can be prorated; the pre "
        "assessment needs a PCL-5 total"
    ]


def test_a_file_without_post_has_no_completers(tmp_path):
    found = messages(tmp_path, f"{HEADER}\na,pre,0,50\nb,pre,0,40\n")
    assert any("no completers" in m for m in found), found


# --------------------------------------------------------------------------------------------------
# Column mapping

EXPORT = "record_id,Visit,Day,PCL5 score,Sex,Therapy\nR1,Baseline,0,50,1,Y\nR1,End,21,20,,\nR2,Baseline,0,44,2,N\n"
MAPPING = """columns:
  record_id: patient_id
  Visit: assessment
  Day: days
  PCL5 score: pcl5
  Sex: gender
  Therapy: psychotherapy
values:
  gender: {"1": woman, "2": man}
  psychotherapy: {"Y": true, "N": false}
  assessment: {Baseline: pre, End: post}
"""


def test_a_mapping_renames_and_recodes(tmp_path):
    result = validate_file(write(tmp_path, EXPORT), write(tmp_path, MAPPING, "map.yml"))
    assert result.ok, result.errors
    assert result.cohort["gender"].tolist() == ["woman", "man"]
    assert result.cohort["psychotherapy"].tolist() == [True, False]


def test_codes_match_in_excel_and_parquet_exports(tmp_path):
    """Spreadsheets store codes as numbers and Parquet columns with gaps as floats: 1.0 is still code 1."""
    book = openpyxl.Workbook()
    for line in EXPORT.splitlines():
        book.active.append([int(v) if v.isdigit() else (v or None) for v in line.split(",")])
    book.save(tmp_path / "export.xlsx")
    table = pa.table(
        {"record_id": ["R1", "R1", "R2"], "Visit": ["Baseline", "End", "Baseline"], "Day": [0, 21, 0],
         "PCL5 score": [50, 20, 44], "Sex": [1.0, None, 2.0], "Therapy": ["Y", None, "N"]}
    )  # fmt: skip
    pq.write_table(table, tmp_path / "export.parquet")
    mapping = write(tmp_path, MAPPING, "map.yml")
    for name in ("export.xlsx", "export.parquet"):
        result = validate_file(tmp_path / name, mapping)
        assert result.ok, result.errors
        assert result.cohort["gender"].tolist() == ["woman", "man"]


def test_messages_name_the_files_column_and_the_contracts(tmp_path):
    found = messages(tmp_path, EXPORT.replace("R1,End,21,20", "R1,End,21,90"), MAPPING)
    assert found == [f"{tmp_path / 'long.csv'}: row 3: column PCL5 score (pcl5): out of range: must be 0-80 (90)"]


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ("columns: [record_id\n", "line 2: not valid YAML"),
        ("columns:\n  record_id: patient_id\n  Weight: age\n", "line 3: column Weight is not in"),
        ("columns:\n  record_id: patient_id\n  Day: days\n  Visit: assessment\n  PCL5 score: pcl5_total\n",
         "line 5: column PCL5 score is mapped to pcl5_total, a name the contract does not know"),
        ("columns:\n  record_id: patient_id\n  Sex: patient_id\n", "line 3: column Sex is mapped to patient_id, as line 2 already is"),
        ("values:\n  sex: {'1': woman}\n", "line 2: values for sex, a name the contract does not know"),
        ("values:\n  gender: {'1': ''}\n", "line 2: gender value '1' is mapped to nothing"),
    ],
)  # fmt: skip
def test_malformed_mapping_files_are_rejected_at_their_line(tmp_path, mapping, expected):
    found = messages(tmp_path, EXPORT, mapping)
    assert len(found) == 1 and found[0].startswith(f"{tmp_path / 'map.yml'}: {expected}"), found


def test_parse_mapping_reads_codes_as_text():
    mapping = parse_mapping("values:\n  psychotherapy: {Y: yes, 1: true, 01: false}\n", "m.yml")
    assert mapping.values == {"psychotherapy": {"Y": "yes", "1": "true", "01": "false"}}
    with pytest.raises(ValidationFailed):
        parse_mapping("- a list\n", "m.yml")


def test_suggest_maps_synonyms_and_lists_codes(tmp_path):
    text = suggest(write(tmp_path, EXPORT))
    assert '"record_id": patient_id   # known synonym of patient_id' in text
    assert '"Sex": gender' in text and '"1": ""' in text and '"Y": ""' in text
    assert '"Visit": assessment' in text and '"Baseline": ""' in text


def test_suggest_lists_the_contract_columns_nothing_maps_to_with_did_you_mean(tmp_path):
    # No synonyms here but record_id: each contract column is listed, with the file's column it resembles.
    export = "record_id,Visite,Visit_day,PCL5 score,Agee,Alter,NumInfusions\nR1,B,0,50,40,40,3\n"
    text = suggest(write(tmp_path, export))
    assert "# The file has one row per patient." in text  # no assessment column found
    assert [line for line in text.splitlines() if "no column of the file maps to it" in line] == [
        '  # pcl5_pre: required by the contract, and no column of the file maps to it; did you mean "PCL5 score"?',
        "  # pcl5_post: required by the contract, and no column of the file maps to it",
        '  # age: optional, and no column of the file maps to it; did you mean "Agee"?',
        '  # n_infusions: optional, and no column of the file maps to it; did you mean "NumInfusions"?',
    ]
    assert (
        "  # not in the file (optional; the analyses that need them are turned off): days_between, date_pre, "
        "date_post, gender, race_ethnicity, n_psych_meds, suicidal_ideation, psychotherapy"
    ) in text


@pytest.mark.spawns
@pytest.mark.parametrize("case", ["mapping", "long file"])
def test_command_line_rejects_bad_input_and_writes_nothing(tmp_path, case):
    if case == "mapping":
        data = write(tmp_path, EXPORT)
        columns = write(tmp_path, "columns:\n  Nope: age\n", "map.yml")
        expected = f"{columns}: line 2: column Nope is not in {data}"
    else:
        data = write(tmp_path, EXPORT.replace("R1,End,21", "R1,Baseline,21"))
        columns = write(tmp_path, MAPPING, "map.yml")
        expected = (
            f"{data}: row 3: column Visit (assessment): a second pre assessment of this patient; the first is at row 2"
        )
    out = tmp_path / "out"
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    for args in (
        ["validate", "--data", data, "--columns", columns],
        ["build", "--data", data, "--columns", columns, "--out", out],
    ):
        proc = run(*args)
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr
        assert "Traceback" not in proc.stderr
    # The inputs are untouched, and the output folder the build would have made does not exist.
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    assert not out.exists()


@pytest.mark.spawns
def test_command_line_validates_the_bundled_example_with_its_mapping(tmp_path):
    proc = run(
        "validate", "--data", paths.DATA / "example_clinic_export.csv", "--columns", paths.DATA / "example_columns.yml"
    )
    assert proc.returncode == 0, proc.stderr
    assert "valid, 5 patients, 11 later assessment(s)" in proc.stdout
    proc = run("columns", paths.DATA / "example_clinic_export.csv", "--out", tmp_path / "m.yml")
    assert proc.returncode == 0 and '"record_id": patient_id' in (tmp_path / "m.yml").read_text()


def test_xlsx_long_file(tmp_path):
    book = openpyxl.Workbook()
    for line in [HEADER, *GOOD.splitlines()]:
        book.active.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    (tmp_path / "long.xlsx").write_bytes(buffer.getvalue())
    result = validate_file(tmp_path / "long.xlsx")
    assert result.ok and result.cohort["pcl5_post"].tolist() == [20, 40]


def test_adverse_event_columns_in_a_one_row_per_patient_file(tmp_path):
    text = "patient_id,pcl5_pre,pcl5_post,ae_nausea,serious_adverse_event,AE_Bad-Name\na,50,20,yes,no,1\nb,40,,,No,0\n"
    result = validate_file(write(tmp_path, text, "wide.csv"))
    assert result.ok, result.errors
    assert result.cohort["ae_nausea"].tolist()[0] is True and result.cohort["ae_nausea"].isna().tolist() == [
        False,
        True,
    ]
    assert result.cohort["serious_adverse_event"].tolist() == [False, False]
    assert "AE_Bad-Name" in result.cohort.attrs["extra_columns"]  # not ae_<lower-case letters, digits, _>
    found = messages(tmp_path, text.replace("a,50,20,yes", "a,50,20,maybe"))
    assert found == [
        f"{tmp_path / 'long.csv'}: row 2: column ae_nausea: unknown value; use true/false, yes/no or 1/0 (any case), or leave empty for unknown (maybe)"
    ]


REDCAP = (
    "record_id,redcap_event_name,visit_date,"
    + ",".join(f"pcl5_{k}" for k in range(1, 21))
    + ",ethnicity,race___1,race___2,ae___1,ae___2,pcl5_complete\n"
    + "1,baseline_arm_1,2023-02-05,"
    + ",".join(["3"] * 20)
    + ",0,1,0,0,0,2\n"
    + "1,end_of_treatment_arm_1,2023-02-26,"
    + ",".join(["1"] * 20)
    + ",,,,1,0,2\n"
    + "2,baseline_arm_1,2023-03-01,"
    + ",".join(["2"] * 20)
    + ",1,0,1,0,0,2\n"
    + "2,end_of_treatment_arm_1,2023-03-20,"
    + ",".join(["2"] * 20)
    + ",,,,0,0,2\n"
)


def test_columns_reads_a_redcap_export_and_its_filled_in_mapping_validates(tmp_path):
    from ketamine_ptsd.data.columns import suggest

    data = write(tmp_path, REDCAP, "redcap.csv")
    text = suggest(data)
    # Items numbered without a leading zero map to the contract's items; 10-20 already are its names.
    assert '"pcl5_1": pcl5_01' in text and '"pcl5_9": pcl5_09' in text and '# "pcl5_10": already' in text
    # The event column is the assessment, with every event listed to fill in; REDCap's bookkeeping is ignored.
    assert '"redcap_event_name": assessment' in text and '"baseline_arm_1": ""' in text
    assert '# "pcl5_complete": REDCap\'s bookkeeping column: ignored' in text
    # A checkbox is never "already the contract's name": an adverse event asks for its name, race says why not.
    assert '# "ae___1": ae_   # fill in the name after ae_' in text
    assert '# "race___1": REDCap checkbox race, choice 1: left out' in text
    # A coded category lists its codes, instead of passing them on as labels.
    assert '  race_ethnicity:   # codes in "ethnicity": 0, 1' in text and '"0": ""' in text
    # The user fills in the blanks, as the comments say, and the export validates unchanged.
    filled = (
        text.replace('"baseline_arm_1": ""', '"baseline_arm_1": pre')
        .replace('"end_of_treatment_arm_1": ""', '"end_of_treatment_arm_1": post')
        .replace('# "ae___1": ae_ ', '"ae___1": ae_nausea ')
        .replace('# "ae___2": ae_ ', '"ae___2": ae_headache ')
        .replace('"0": ""', '"0": not Hispanic or Latino')
        .replace('"1": ""', '"1": Hispanic or Latino')
    )
    mapping = write(tmp_path, filled, "mapping.yml")
    result = validate_file(data, mapping)
    assert result.ok, [str(p) for p in result.errors]
    cohort = result.cohort.set_index("patient_id")
    assert cohort["pcl5_pre"].tolist() == [60, 40] and cohort["pcl5_post"].tolist() == [20, 40]  # 20 x 3, 20 x 1 ...
    # Nausea at the second visit only is the patient's nausea; headache never.
    assert cohort["ae_nausea"].tolist() == [True, False] and cohort["ae_headache"].tolist() == [False, False]
    assert cohort["race_ethnicity"].tolist() == ["not Hispanic or Latino", "Hispanic or Latino"]
    assert not any(c.startswith("ae___") or "__" in c for c in cohort.columns)


def test_a_european_csv_with_a_title_row_and_us_dates_builds_from_its_filled_in_mapping(tmp_path):
    from ketamine_ptsd.data.columns import suggest

    text = (
        "Clinic export\n"
        "record_id;visit;visit_date;PCL5_total\n"
        "R1;Baseline;02/05/2023;58\nR1;End;02/26/2023;27,0\n"
        "R2;Baseline;03/01/2023;50\nR2;End;03/22/2023;45\n"
    )
    data = write(tmp_path, text, "export.csv")
    # Without a mapping (and without the title): one line saying how to re-save it, naming decimal commas.
    found = messages(tmp_path, text.split("\n", 1)[1])
    assert len(found) == 1 and "not commas: save it as 'CSV UTF-8" in found[0] and "decimal commas" in found[0]
    starting = suggest(data)
    for line in (
        "  header_row: 2",
        '  delimiter: ";"',
        '  decimal: ","   # numbers such as 27,0',
        '  date: "%m/%d/%Y"   # month first: 02/26/2023 has no 13th month',
    ):
        assert line in starting, starting
    filled = starting.replace('"Baseline": ""', '"Baseline": pre').replace('"End": ""', '"End": post')
    result = validate_file(data, write(tmp_path, filled, "mapping.yml"))
    assert result.ok, [str(p) for p in result.errors]
    cohort = result.cohort.set_index("patient_id")
    # 27,0 is 27; 02/05 to 02/26 is 21 days, 03/01 to 03/22 also 21.
    assert cohort["pcl5_post"].tolist() == [27, 45] and cohort["days_between"].tolist() == [21, 21]


def test_an_undecidable_date_order_is_refused_with_its_evidence(tmp_path):
    from ketamine_ptsd.data.columns import detect_format

    data = write(tmp_path, f"{HEADER},date\na,pre,0,50,02/05/2023\na,post,21,20,03/06/2023\n", "dates.csv")
    fmt, notes = detect_format(data)
    assert "date" not in fmt
    assert notes == [
        "  # date: cannot tell day from month: 02/05/2023 could be either order and no date settles it; fill in "
        '"%m/%d/%Y" (month first) or "%d/%m/%Y" (day first)'
    ]


def test_a_format_key_the_mapping_does_not_know_is_refused_at_its_line(tmp_path):
    found = messages(tmp_path, f"{HEADER}\n{GOOD}", "format:\n  separator: ';'\ncolumns: {}\n")
    assert found == [
        f"{tmp_path / 'map.yml'}: line 2: unknown format key 'separator'; use date, delimiter, decimal, header_row"
    ]


def test_a_typo_in_the_mappings_values_is_reported_at_its_line_not_at_every_row(tmp_path):
    text = "record_id,visit,days,score\nA,Baseline,0,50\nA,Mid,7,40\nA,End,21,30\n"
    mapping = (
        "columns:\n  record_id: patient_id\n  visit: assessment\n  score: pcl5\n"
        "values:\n  assessment:\n    Baseline: pre\n    mid: interim\n    End: post\n"
    )
    assert messages(tmp_path, text, mapping) == [
        f"{tmp_path / 'map.yml'}: line 8: assessment value 'mid' matches no value of 'visit' in "
        f"{tmp_path / 'long.csv'} (its values: Baseline, End, Mid)"
    ]
    # A code for a value this file happens not to have, with every value of the file accounted for, is fine.
    fine = mapping.replace("    mid: interim\n", "    Mid: interim\n    Follow-up: followup\n")
    assert validate_file(write(tmp_path, text), write(tmp_path, fine, "map.yml")).ok


def test_a_platform_workbook_with_a_title_row_builds_from_its_filled_in_mapping(tmp_path):
    import datetime as dt

    import openpyxl

    from ketamine_ptsd.data.columns import suggest

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Outcomes report"])
    ws.append(["Patient ID", "Visit", "Visit date", "PCL-5 total", "Notes"])
    ws.append(["P1", "Baseline", dt.date(2023, 1, 9), 55, "felt anxious"])
    ws.append(["P1", "End of treatment", dt.date(2023, 1, 30), 30, ""])
    data = tmp_path / "platform.xlsx"
    wb.save(data)
    starting = suggest(data)
    assert "  header_row: 2   # row 1 ('Outcomes report') is a title above the column names" in starting
    assert "one row per assessment" in starting
    filled = starting.replace('"Baseline": ""', '"Baseline": pre').replace(
        '"End of treatment": ""', '"End of treatment": post'
    )
    result = validate_file(data, write(tmp_path, filled, "mapping.yml"))
    assert result.ok, [str(p) for p in result.errors]
    assert result.cohort["days_between"].tolist() == [21]
    # Rows keep the sheet's numbers: the free-text column is named as ignored.
    assert any("column Notes: unknown column, ignored" in str(w) for w in result.warnings)


def test_assessment_rows_never_scored_are_left_out_with_one_counting_warning(tmp_path):
    text = f"{HEADER}\na,pre,0,50\na,post,21,30\na,followup,60,\nb,pre,0,55\nb,post,20,35\nb,followup,50,\n"
    result = validate_file(write(tmp_path, text))
    assert result.ok, [str(p) for p in result.errors]
    assert [str(w) for w in result.warnings] == [
        f"{tmp_path / 'long.csv'}: column pcl5: 2 assessment row(s) without a PCL-5 total or any item (scheduled, "
        "never done): left out (rows 4, 7)"
    ]
    assert len(result.assessments) == 2  # the two post rows; the unscored follow-ups are gone
    # The file's rows are still six; that some were left out is said, not how many (the warning counts them).
    assert result.cohort.attrs["assessment_rows"] == 6 and result.cohort.attrs["unscored_rows_left_out"]
    # A line with nothing on it is no assessment: skipped as before, neither counted nor warned about.
    result = validate_file(write(tmp_path, text.replace("b,pre", "\n,,,\nb,pre")))
    assert result.cohort.attrs["assessment_rows"] == 6 and len(result.warnings) == 1


def test_a_problem_repeated_over_rows_is_one_line_with_its_count_and_first_rows(tmp_path, capsys):
    from ketamine_ptsd import cli

    # US dates without the mapping's format: date: every date is refused, and said once, not once a row.
    text = "patient_id,assessment,date,pcl5\n" + "".join(
        f"p{k},pre,02/0{k}/2023,50\np{k},post,03/0{k}/2023,30\n" for k in range(1, 4)
    )
    data = write(tmp_path, text)
    assert cli.main(["validate", "--data", str(data)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{data}: column date: dates must be written YYYY-MM-DD (ISO), or their form named in the column "
        "mapping's format: date (ketamine-ptsd columns detects it); found another date form: 6 rows: "
        "2 (02/01/2023), 3 (03/01/2023), 4 (02/02/2023), ...",
        "6 problem(s) found; nothing was written.",
    ]


def test_a_redcap_checkbox_column_is_no_adverse_event_without_a_name(tmp_path):
    # ae___1 would have been the event "__1" in the book and ae___1_pct in results.json.
    text = f"{HEADER},ae___1,ae_nausea\na,pre,0,50,1,1\na,post,21,30,0,0\n"
    result = validate_file(write(tmp_path, text))
    assert result.ok, [str(p) for p in result.errors]
    assert [c for c in result.cohort.columns if c.startswith("ae_")] == ["ae_nausea"]
    assert [str(w) for w in result.warnings] == [
        f"{tmp_path / 'long.csv'}: column ae___1: unknown column, ignored (a REDCap checkbox, one column per "
        "choice: an adverse event's is named in a column mapping, e.g. ae___1: ae_nausea; `ketamine-ptsd columns` "
        "starts one)"
    ]


def test_help_is_plain_text():
    from ketamine_ptsd import cli

    parser = cli._parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    texts = [parser.format_help(), *(p.format_help() for p in commands.values())]
    assert set(commands) == {"build", "preview", "validate", "columns", "reconstruct", "publish"}
    # No reStructuredText or Markdown markup: ``literal``, `role`, :func: and the like.
    assert [t for t in texts if re.search(r"`|:[a-z]+:`|::", t)] == []
