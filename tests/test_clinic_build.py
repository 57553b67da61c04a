"""A clinic's export built end to end: through its column mapping, into the durability chapter, privately."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ketamine_ptsd import paths
from ketamine_ptsd.presentation import results

from .helpers import run
from .test_privacy import published_texts
from .test_results_schema import undescribed

pytestmark = pytest.mark.pipeline

MAPPING = """columns:
  record_id: patient_id
  visit: assessment
  visit_date: date
  PCL5_total: pcl5
  Sex: gender
  SAE: serious_adverse_event
  AE_dissociation: ae_dissociation
values:
  gender: {"1": woman, "2": man}
  serious_adverse_event: {"Y": true, "N": false}
  ae_dissociation: {"Y": true, "N": false}
  assessment: {Baseline: pre, "End of treatment": post, "Follow-up": followup}
"""


def export(n: int = 40, seed: int = 7) -> str:
    """``n`` invented patients in 2031 (a year no page mentions): baseline, end of treatment and two to
    three follow-ups each, scores drifting back up after treatment."""
    rng = np.random.default_rng(seed)
    lines = ["record_id,visit,visit_date,PCL5_total,Sex,SAE,AE_dissociation"]
    for k in range(n):
        start = dt.date(2031, 1, 1) + dt.timedelta(days=int(rng.integers(0, 200)))
        pre = int(rng.integers(40, 70))
        post = int(rng.integers(10, pre - 5))
        sex, dissociation = rng.choice(["1", "2"]), rng.choice(["Y", "N"])
        lines.append(f"CLN-{k:04d},Baseline,{start},{pre},{sex},N,{dissociation}")
        end = start + dt.timedelta(days=21)
        lines.append(f"CLN-{k:04d},End of treatment,{end},{post},,,")
        day, score = 0, post
        for _ in range(int(rng.integers(2, 4))):
            day += int(rng.integers(20, 120))
            score = int(min(80, score + rng.integers(0, 9)))
            lines.append(f"CLN-{k:04d},Follow-up,{end + dt.timedelta(days=day)},{score},,,")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def clinic_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clinic")
    (folder / "export.csv").write_text(export(), encoding="utf-8")
    (folder / "columns.yml").write_text(MAPPING, encoding="utf-8")
    out = folder / "out"
    proc = run("build", "--data", folder / "export.csv", "--columns", folder / "columns.yml", "--out", out, "--jobs", 1)
    assert proc.returncode == 0, proc.stderr
    return out, json.loads((out / "results.json").read_text(encoding="utf-8"))


def test_durability_and_adverse_events_are_published(clinic_build):
    _, values = clinic_build
    assert results.check_schema(values) == []
    assert undescribed(values) == []  # keys only a clinic export publishes (durability, adverse events)
    assert values["n_patients"] == 40 and values["n_with_followup"] == 40
    # This export is tests/results/durability_clinic_export.csv, which lme4 fitted (durability_lme4.R).
    lme4 = pd.read_csv(Path(__file__).parent / "results" / "durability_lme4.csv").set_index("fixture")
    reference = lme4.loc["durability_clinic_export.csv"]
    assert values["durability_slope_per_month"] == pytest.approx(reference["slope"], rel=1e-3)
    assert values["durability_slope_reml_criterion"] == pytest.approx(reference["reml_criterion"], rel=1e-6)
    assert values["durability_n_responders_followed"] >= 5
    windows = values["durability_by_window"]
    assert [(w["window_start"], w["window_end"]) for w in windows] == [(0, 30), (30, 90), (90, 180), (180, 365)]
    for i, w in enumerate(windows):  # a window is published only for min_cell patients or more
        assert w["n"] is None and f"durability_by_window[{i}].n" in values["suppressed"] or w["n"] >= 5
    assert values["ae_dissociation_n_recorded"] == 40 and 0 < values["ae_dissociation_pct"] < 100
    assert values["n_serious_adverse_events"] == 0
    claim = next(c for c in values["claims"] if c["id"] == "no_serious_adverse_events_preprint")
    assert claim["status"] == "matches"
    # Scores drift up: the interval excludes no change, so "sustained" is not the verdict.
    assert values["durability_slope_ci_low"] > 0 and values["durability_verdict"] == "worsening"
    claim = next(c for c in values["claims"] if c["id"] == "rapid_and_sustained_title")
    assert claim["status"] == "differs" and claim["recomputed"] == "worsening"
    # A user's file was not generated to match anything.
    assert values["n_claims_by_construction"] == 0 and not any(c["by_construction"] for c in values["claims"])


def visible(page) -> str:
    """A page's text as a reader sees it: without its code cells' sources (collapsed there) and scripts."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for hidden in [*soup(["script", "style"]), *soup.select("div.cell_input")]:
        hidden.decompose()
    return re.sub(r"\s+", " ", soup.get_text(""))


def test_the_book_describes_the_clinics_file_in_its_readers_words(clinic_build):
    out, _ = clinic_build
    pages = out / "html" / "notebooks"
    rows = len(export().splitlines()) - 1
    assert f"The data file holds 40 patients, in {rows} rows, one row per assessment." in visible(pages / "cohort.html")
    # The landing page describes the file's patients, not the paper's clinic.
    intro = visible(pages / "introduction.html")
    assert "New York" not in intro and "the patients of the data file it was built from" in intro
    # Tables and lists in words, not results.json's names (ci_low, n_recorded, durability_median_days_to_loss).
    durability = visible(pages / "durability.html")
    assert "Adverse event" in durability and "Patients recorded" in durability
    assert not re.findall(r"\bci_(?:low|high)\b|\bn_recorded\b|\b[a-z]+_[a-z_]+ ?: not computable", durability)


def test_no_identifier_or_date_is_published(clinic_build):
    out, _ = clinic_build
    texts = published_texts(out)
    # Nor the build machine's folders: papermill recorded them in every executed notebook.
    assert [name for name, text in texts.items() if str(out.parent) in text] == []
    assert any(name.endswith(".ipynb") for name in texts)
    assert "html/notebooks/durability.html" in texts
    leaks = [(name, word) for name, text in texts.items() for word in ("CLN-00", "2031-") if word in text]
    assert leaks == []
    page = texts["html/notebooks/durability.html"]
    assert page.count("<img") >= 2  # the trajectory and the Kaplan-Meier curve


def test_the_redcap_example_builds_from_its_filled_in_starting_mapping(tmp_path):
    """The README's second worked example, end to end: data/example_redcap_export.csv through
    data/example_redcap_columns.yml, which is ketamine-ptsd columns' starting mapping with only its blanks filled."""
    from ketamine_ptsd.data.columns import suggest

    export, filled = paths.DATA / "example_redcap_export.csv", paths.DATA / "example_redcap_columns.yml"
    starting = suggest(export).splitlines()
    kept = filled.read_text(encoding="utf-8").splitlines()
    # Line for line, the filled mapping differs only where the starting one asks for something.
    changed = [(a, b) for a, b in zip(starting, kept) if a != b]
    assert len(starting) == len(kept) and changed
    assert all('""' in a or "ae_   # fill in" in a for a, _ in changed)
    out = tmp_path / "out"
    proc = run("build", "--data", export, "--columns", filled, "--out", out)
    assert proc.returncode == 0, proc.stderr
    values = json.loads((out / "results.json").read_text(encoding="utf-8"))
    # Nine patients: one follow-up without an end of treatment (a warning), one visit never done (left out).
    assert (
        values["n_patients"] == 9 and values["n_with_followup"] is not None or "n_with_followup" in values["suppressed"]
    )
    assert values["n_prorated_totals"] is None and "n_prorated_totals" in values["suppressed"]  # 1, below min_cell
    assert "ae_dissociation_n_recorded" in values and not [k for k in values if "___" in k or k.startswith("ae__")]
    assert values["mapping_sha256"] == hashlib.sha256(filled.read_bytes()).hexdigest()
    # 23 rows under the header; the visit never done is said to be left out.
    assert "holds 9 patients, in 23 rows, one row per assessment (rows without a PCL-5 score are left out)." in (
        visible(out / "html" / "notebooks" / "cohort.html")
    )


def platform_workbook(path: Path, n: int = 24) -> dict[str, str]:
    """A measurement-based-care platform's workbook for ``n`` invented patients in 2031: a title row above human
    headers, real Excel dates, gender words as people type them, a free-text note, and a follow-up visit never
    done (a blank score). Returns the blanks its starting mapping asks for, filled in."""
    import openpyxl

    rng = np.random.default_rng(3)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Outcomes report"])
    sheet.append(["Patient ID", "Visit", "Visit date", "PCL-5 total", "Age", "Gender", "Notes"])
    for k in range(n):
        start = dt.datetime(2031, 1, 6) + dt.timedelta(days=int(rng.integers(0, 200)))
        pre = int(rng.integers(40, 75))
        post = int(rng.integers(5, pre))
        visits = [("Intake", 0, pre), ("End of treatment", 24, post), ("Follow-up", 80, post + 3)]
        for label, day, score in visits:
            first = label == "Intake"
            sheet.append(
                [
                    f"PT-{k:04d}",
                    label,
                    start + dt.timedelta(days=day),
                    None if k == 5 and day == 80 else score,
                    int(rng.integers(20, 66)) if first else None,
                    ["Female", "Male ", "non-binary"][k % 3] if first else None,
                    "called about sleep",
                ]
            )
    book.save(path)
    return {'"Intake": ""': '"Intake": pre', '"End of treatment": ""': '"End of treatment": post',
            '"Follow-up": ""': '"Follow-up": followup'}  # fmt: skip


def european_csv(path: Path, n: int = 24) -> dict[str, str]:
    """One row per patient as a European Excel saves it: ';' between fields, decimal commas, day-first dates
    and a sex coded w/m. Returns the blanks its starting mapping asks for, filled in."""
    rng = np.random.default_rng(4)
    lines = ["patient_id;pcl5_baseline;pcl5_final;age;sex;date_pre;date_post;bmi"]
    for k in range(n):
        start = dt.date(2031, 1, 6) + dt.timedelta(days=int(rng.integers(0, 200)))
        pre = int(rng.integers(40, 75))
        end = (start + dt.timedelta(days=int(rng.integers(14, 40)))).strftime("%d.%m.%Y")
        fields = [f"EU-{k:03d}", f"{pre},0", str(int(rng.integers(5, pre))), str(int(rng.integers(20, 66))),
                  "wm"[k % 2], start.strftime("%d.%m.%Y"), end, f"{rng.uniform(18, 35):.1f}".replace(".", ",")]  # fmt: skip
        lines.append(";".join(fields))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return {'"w": ""': '"w": woman'}


@pytest.mark.parametrize(("name", "make"), [("platform.xlsx", platform_workbook), ("european.csv", european_csv)])
def test_an_export_builds_from_its_starting_mapping_with_the_blanks_filled(tmp_path, name, make):
    """The issue's 'done when': the raw export, unchanged, and ketamine-ptsd columns' starting mapping with only
    its blanks filled in, build the book."""
    export_file = tmp_path / name
    fills = make(export_file)
    before = export_file.read_bytes()
    proc = run("columns", export_file, "--out", tmp_path / "start.yml")
    assert proc.returncode == 0, proc.stderr
    starting = (tmp_path / "start.yml").read_text(encoding="utf-8")
    filled = starting
    for blank, value in fills.items():
        assert blank in filled, starting
        filled = filled.replace(blank, value)
    assert '""' not in filled, filled  # nothing else was asked for
    (tmp_path / "mapping.yml").write_text(filled, encoding="utf-8")
    out = tmp_path / "out"
    proc = run("build", "--data", export_file, "--columns", tmp_path / "mapping.yml", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert export_file.read_bytes() == before
    values = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert values["n_patients"] == 24 and values["n_completers"] == 24
    texts = published_texts(out)
    assert [(f, w) for f, text in texts.items() for w in ("PT-00", "EU-0", "called about", "2031-") if w in text] == []
