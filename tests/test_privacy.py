"""The privacy guard: nothing row-level is published, small cells are suppressed, text is never interpreted.

One book is built from a cohort whose identifiers and free-text values are canary strings found nowhere
else, then every published file is searched for them: each file under ``html/`` (pages, page sources,
downloadable notebooks, search index, images), ``results.json``, and the CSV tables embedded in the pages
as base64 links, decoded. The same cohort holds small groups whose counts and statistics must be suppressed,
and category labels that are HTML, Markdown and MyST, which must be shown as text.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from pathlib import Path

import jupytext
import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from ketamine_ptsd import paths
from ketamine_ptsd.analysis import describe, privacy, stats
from ketamine_ptsd.presentation import results

from .helpers import html_text, run, toc_chapters

N = 40
IDS = [f"QZXID{i:03d}VWK" for i in range(N)]
NOTES = [f"QZXNOTE{i:03d}VWK" for i in range(N)]
UNIQUE_RACES = [f"QZXRACE{i:03d}VWK" for i in range(20)]
CANARIES = IDS + NOTES + UNIQUE_RACES
LONG_LABEL = "QZXLONG" + "y" * 9993
HOSTILE = [
    "<script>alert(1)</script>",
    "**bold** {glue:text}`n_patients` `tick`",
    '```{raw} html\n<b id="rawcanary">RAW</b>\n```',
    LONG_LABEL,
]
MIN_CELL = 5


def canary_frame() -> pd.DataFrame:
    """40 patients: 34 completers. Every id and note is a canary; 20 race labels are canaries (one patient
    each) and 20 patients share the four hostile labels (five each). Small groups: 3 nonbinary, 3 completers
    with psychotherapy, 4 with suicidal ideation, 3 completers in remission (2 below 31)."""
    rng = np.random.default_rng(2024)
    pre = rng.integers(40, 80, N)
    done = np.ones(N, bool)
    done[[5, 11, 17, 23, 29, 35]] = False
    post = np.where(pre - 5 > 40, rng.integers(40, 70, N), pre - 5).astype(object)
    completers = np.flatnonzero(done)
    post[completers[:3]] = [20, 29, 32]  # remission (< 33): three completers; below 31: two
    post[completers[3:]] = np.maximum(post[completers[3:]].astype(int), 35)
    post[~done] = None
    therapy = np.zeros(N, bool)
    therapy[completers[[4, 9, 14]]] = True
    return pd.DataFrame(
        {
            "patient_id": IDS,
            "pcl5_pre": pre,
            "pcl5_post": post,
            "age": rng.integers(20, 70, N),
            "gender": ["woman"] * 30 + ["man"] * 7 + ["nonbinary"] * 3,
            "race_ethnicity": UNIQUE_RACES + [h for h in HOSTILE for _ in range(5)],
            "days_between": rng.integers(20, 90, N),
            "n_infusions": rng.integers(3, 9, N),
            "n_psych_meds": rng.integers(0, 4, N),
            "suicidal_ideation": ["yes"] * 4 + ["no"] * (N - 4),
            "psychotherapy": ["true" if t else "false" for t in therapy],
            "clinician_notes": NOTES,
        }
    )


@pytest.fixture(scope="module")
def canary_build(tmp_path_factory):
    folder = tmp_path_factory.mktemp("canary")
    frame = canary_frame()
    data = folder / "cohort.csv"
    frame.to_csv(data, index=False, quoting=csv.QUOTE_NONNUMERIC)
    out = folder / "out"
    proc = run("build", "--data", data, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out, frame, json.loads((out / "results.json").read_text())


def published_files(out: Path) -> list[Path]:
    return [out / paths.RESULTS_FILENAME] + sorted(p for p in (out / paths.HTML_DIRNAME).rglob("*") if p.is_file())


def embedded_csvs(text: str) -> list[str]:
    """The tables a page (or a notebook holding it) offers for download, decoded."""
    return [base64.b64decode(b).decode("utf-8") for b in re.findall(r"data:text/csv;base64,([A-Za-z0-9+/=]+)", text)]


def published_texts(out: Path) -> dict[str, str]:
    """Every published file as text (bytes read as Latin-1, so binary files are searched too), and every
    embedded CSV table."""
    texts = {}
    for path in published_files(out):
        text = path.read_bytes().decode("latin-1")
        texts[str(path.relative_to(out))] = text
        for k, table in enumerate(embedded_csvs(path.read_text("utf-8", errors="replace"))):
            texts[f"{path.relative_to(out)} (CSV {k})"] = table
    return texts


pipeline = pytest.mark.pipeline


@pipeline
def test_the_scan_covers_sources_notebooks_and_tables(canary_build):
    out, _, _ = canary_build
    texts = published_texts(out)
    # Not a vacuous scan: the kinds of files the guard is about are all there.
    assert any(name.startswith("html/_sources/") and name.endswith(".ipynb") for name in texts)
    assert any(name.endswith("searchindex.js") for name in texts)
    assert sum("(CSV" in name for name in texts) >= 6
    assert any(name.endswith("cohort.html (CSV 0)") for name in texts)
    # Every chapter of the table of contents, as a page and as a downloadable notebook.
    for chapter in toc_chapters():
        assert {f"html/notebooks/{chapter}.html", f"html/_sources/notebooks/{chapter}.ipynb"} <= set(texts), chapter


@pipeline
def test_no_identifier_or_free_text_value_is_published(canary_build):
    out, _, _ = canary_build
    # Nor anything of the build machine: the folder holding the data file and the build (papermill records
    # where it read and wrote each notebook; a user's name, a clinic's folder).
    canaries = [*CANARIES, str(out.parent), str(out.parent).replace("/", "\\/")]
    leaks = [(name, canary) for name, text in published_texts(out).items() for canary in canaries if canary in text]
    assert not leaks, leaks[:10]
    # The long label is cut in Table 1; its tail is published nowhere.
    assert not [name for name, text in published_texts(out).items() if "y" * 100 in text]


def _sequence_pattern(values) -> re.Pattern:
    """The values in this order as whole numbers (maybe with a zero fraction), anything but a longer number
    between them: one column of a per-patient table, whatever its format and its other columns."""
    numbers = [rf"(?<![\d.]){int(v)}(?:\.0+)?(?![\d])" for v in values]
    return re.compile(r".{1,1000}?".join(numbers), re.S)


@pipeline
def test_no_per_patient_table_is_published(canary_build):
    out, frame, _ = canary_build
    done = frame.dropna(subset=["pcl5_post"])
    sequences = {
        "pcl5_pre, file order": frame["pcl5_pre"][:12],
        "pcl5_pre of completers": done["pcl5_pre"][:12],
        "pcl5_post of completers": done["pcl5_post"][:12],
        "change of completers": (done["pcl5_pre"] - done["pcl5_post"].astype(int))[:12],
        "age, file order": frame["age"][:12],
    }
    # The theme's and MathJax's files are copied unchanged from their packages whatever the data (and are
    # dense with numbers); everything made from the data is searched.
    texts = {
        name: text
        for name, text in published_texts(out).items()
        if not name.startswith(("html/_static/", "html/_mathjax/"))
    }
    found = [
        (label, name)
        for label, values in sequences.items()
        for name, text in texts.items()
        if _sequence_pattern(values).search(text)
    ]
    assert not found, found
    # The search finds such a table, in any of the forms a page or a download would hold it.
    for leaked in (
        frame.to_csv(index=False),
        frame.to_html(),
        json.dumps(frame.to_dict(orient="records")),
        frame.drop(columns="race_ethnicity").astype({"pcl5_pre": float}).to_string(),
    ):
        assert _sequence_pattern(frame["pcl5_pre"][:12]).search(leaked)


@pipeline
def test_small_cells_are_null_and_listed_in_results(canary_build):
    _, frame, r = canary_build
    hidden = set(r["suppressed"])
    expected_hidden = {
        "n_remission",
        "pct_remission",
        "pct_remission_itt",
        "n_psychotherapy",
        "mean_change_psychotherapy",
        "psychotherapy_d",
        "psychotherapy_d_ci_low",
        "psychotherapy_d_ci_high",
        "psychotherapy_p",
        "moderator_p_psychotherapy",
        "moderator_p_holm_psychotherapy",
        "moderator_p_suicidal_ideation",
        "moderator_p_holm_suicidal_ideation",
        "sensitivity[0].n",
        "sensitivity[0].pct",
        "sensitivity[0].pct_itt",
        "sensitivity[1].n",
        "sensitivity[1].pct",
        "sensitivity[1].pct_itt",
    }
    assert expected_hidden <= hidden
    # The suppressed nulls are ones the published schema allows.
    assert results.check_schema(r) == []
    for key in hidden:
        name, _, rest = key.partition("[")
        value = r[name] if not rest else r[name][int(rest.split("]")[0])][rest.split(".")[1]]
        assert value is None, key
    # What rests on enough patients is published, and right.
    done = frame.dropna(subset=["pcl5_post"])
    change = done["pcl5_pre"] - done["pcl5_post"].astype(int)
    assert r["n_clinically_significant"] == int((change >= 10).sum()) >= MIN_CELL
    assert r["n_no_psychotherapy"] == len(done) - 3
    assert r["mean_change_no_psychotherapy"] == pytest.approx(change[done["psychotherapy"] == "false"].mean())
    assert r["sensitivity"][2]["n"] == int((change >= 5).sum())
    assert r["n_completers"] == 34 and r["pct_women"] == pytest.approx(75.0)
    # Gender: the three nonbinary completers are too few even pooled, so the test compares women and men.
    import statsmodels.api as sm

    women_men = done[done["gender"] != "nonbinary"]
    X = np.column_stack([np.ones(len(women_men)), women_men["pcl5_pre"], women_men["gender"] == "woman"])
    fit = sm.OLS(change[women_men.index].to_numpy(float), X.astype(float)).fit()
    assert r["moderator_p_gender"] == pytest.approx(fit.pvalues[2], rel=1e-7)


@pipeline
def test_no_suppressed_value_is_published_by_another_chapter(canary_build, tmp_path):
    out, frame, r = canary_build
    data = tmp_path / "cohort.csv"
    frame.to_csv(data, index=False)
    from ketamine_ptsd.data.validate import validate_file

    cohort = validate_file(data).cohort
    raw = {**stats.clinical_significance(cohort), **stats.psychotherapy_contrast(cohort)}
    # The statistics as they are before the small-cell rule (min_cell 0): the values it hid.
    unruled = stats.moderator_table(cohort, min_cell=0)
    raw.update({f"moderator_p_{row.moderator}": row.p for row in unruled.itertuples()})
    hidden = {key: raw[key] for key in r["suppressed"] if isinstance(raw.get(key), float)}
    # At full precision a float of many digits found in a published file is that statistic, not a
    # coincidence; a short one (7.5, three of forty patients) is in any page, so it is not searched for.
    hidden = {key: value for key, value in hidden.items() if len(repr(abs(value)).lstrip("0.").replace(".", "")) >= 8}
    assert {"pct_remission", "psychotherapy_d", "moderator_p_suicidal_ideation"} <= set(hidden)
    found = [
        (key, name)
        for key, value in hidden.items()
        for name, text in published_texts(out).items()
        if re.search(rf"(?<![\d.]){re.escape(repr(value))}(?!\d)", text)
    ]
    assert not found, found
    # The appraisal chapters say what they hid: a claim resting on a small group is not computable, its
    # recomputed value null and listed; a claim that is computed has the value of its results chapter.
    claims = {row["id"]: (i, row) for i, row in enumerate(r["claims"])}
    for claim_id in (
        "pct_remission_published",
        "psychotherapy_d_preprint",
        "moderator_suicidal_ideation_not_significant_preprint",
    ):
        i, row = claims[claim_id]
        assert row["recomputed"] is None and row["status"] == "not computable" and "suppressed" in row["note"]
        assert f"claims[{i}].recomputed" in r["suppressed"]
    assert claims["moderator_gender_not_significant_preprint"][1]["recomputed"] == r["moderator_p_gender"]
    # The shortest and longest follow-up are one patient's each: never given, and the 5th and 95th
    # percentiles, with fewer than five of 34 completers beyond them, are suppressed.
    assert "followup_min_days" not in r and "followup_max_days" not in r
    assert {"followup_p05_days", "followup_p95_days"} <= set(r["suppressed"])
    assert r["followup_median_days"] is not None


def _table(page: Path, caption: str) -> pd.DataFrame:
    """The table captioned ``caption...`` as a reader sees it: one column per column label (a cell's
    explanation, shown under its value, in a column ``LABEL: detail``)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    figure = next(f for f in soup.select("figure.numbered-table") if caption in f.select_one("p.caption").get_text())
    label = {th["id"]: th.get_text(strip=True) for th in figure.select("thead th[id]")}
    rows = []
    for tr in figure.select("tbody tr"):
        row = {}
        for td in tr.find_all("td"):
            column = label[td["headers"][-1]]
            detail = td.select_one(".house-detail")
            if detail:
                row[f"{column}: detail"] = detail.extract().get_text()
            row[column] = td.get_text()
        rows.append(row)
    return pd.DataFrame(rows)


@pipeline
def test_small_cells_are_marked_in_the_book(canary_build):
    out, _, r = canary_build
    pages = out / "html" / "notebooks"
    mark = f"< {MIN_CELL} (suppressed)"
    counts = _table(pages / "clinical_significance.html", "Patients meeting each definition").set_index("Definition")
    assert list(counts.loc["remission"]) == [mark, "suppressed", "suppressed"]
    assert counts.loc["clinically significant", "Patients"] == str(r["n_clinically_significant"])
    sensitivity = _table(pages / "clinical_significance.html", "Shares of patients")
    sensitivity = sensitivity.set_index("Threshold (PCL-5 points)")
    assert (
        sensitivity.loc["pcl5_post < 31", "Patients"] == mark and sensitivity.loc["pcl5_post < 33", "Patients"] == mark
    )
    table_one = _table(pages / "cohort.html", "Characteristics of all patients")
    gender = table_one[table_one["Characteristic"] == "Gender"].set_index("Level")["Value"]
    assert gender["nonbinary"] == mark and gender["man"].startswith("7 (")
    moderators = _table(pages / "moderators.html", "Each moderator").set_index("Moderator")
    therapy = moderators.loc["Concomitant psychotherapy during treatment"]
    assert therapy["p"] == "suppressed" and "fewer than" in therapy["Moderator: detail"]
    assert "left out" in moderators.loc["Gender", "Moderator: detail"]
    text = html_text(pages / "moderators.html")
    assert "Not shown: fewer than" in text and "(n = 3)" not in text
    clinical = html_text(pages / "clinical_significance.html")
    assert "suppressed ended in remission" in clinical
    # The CSV behind each table carries the marks, not the hidden numbers.
    page = (pages / "clinical_significance.html").read_text(encoding="utf-8")
    rows = {row["outcome"]: row for row in csv.DictReader(io.StringIO(embedded_csvs(page)[0]))}
    assert rows["remission"]["n"] == mark and rows["remission"]["% of completers"] == "suppressed"


@pipeline
def test_hostile_category_text_is_shown_as_text(canary_build):
    from bs4 import BeautifulSoup

    out, _, _ = canary_build
    page = out / "html" / "notebooks" / "cohort.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    levels = [td.get_text() for td in soup.select("table td")]
    for label in HOSTILE[:3]:
        # The cell's text is the label itself, line breaks included.
        assert label in levels, label
    assert LONG_LABEL[: describe.MAX_LABEL - 1] + "…" in levels
    # Nothing of it became markup: no script ran, no bold, no raw HTML element, no glued number.
    assert not [s for s in soup.find_all("script") if "alert(1)" in s.get_text()]
    assert not soup.find(id="rawcanary") and not soup.find("strong", string="bold")
    assert not [c for c in soup.select("table code") if c.get_text() == "tick"]
    for name, text in published_texts(out).items():
        if "(CSV" not in name:  # a downloaded CSV is data, not markup
            assert "<script>alert(1)</script>" not in text, name
            assert '<b id="rawcanary">' not in text, name


# --- without a build: the rule and its bookkeeping ------------------------------------------------------


def patient_data_chapters(repo: Path = paths.REPO) -> dict[str, bool]:
    """Each chapter of the table of contents that reads patient data, and whether it declares ``min_cell``.

    A chapter reads patient data when its code uses a file the build hands it (a ``*_path`` parameter, such
    as ``cohort_path``); one that only records the build's facts (provenance) reads none.
    """
    out = {}
    for name in toc_chapters(repo):
        notebook = jupytext.read(repo / paths.NOTEBOOKS.name / f"{name}.md")
        code = [cell for cell in notebook.cells if cell.cell_type == "code"]
        is_parameters = ["parameters" in cell.metadata.get("tags", []) for cell in code]
        assert sum(is_parameters) == 1, f"{name}: expected one cell tagged parameters"
        declared = re.findall(r"^(\w+)\s*=", code[is_parameters.index(True)].source, re.M)
        body = "\n".join(cell.source for cell, p in zip(code, is_parameters) if not p)
        if any(re.search(rf"\b{name_}\b", body) for name_ in declared if name_.endswith("_path")):
            out[name] = "min_cell" in declared
    return out


def test_the_chapters_that_read_patient_data_declare_min_cell():
    chapters = patient_data_chapters()
    # Not vacuous: most chapters read the cohort, and every one that does takes the small-cell rule.
    assert len(chapters) > len(toc_chapters()) / 2
    assert [name for name, guarded in chapters.items() if not guarded] == []


def test_a_new_chapter_without_min_cell_is_caught(tmp_path):
    """The check above on a book of four chapters: it finds the new unguarded one, however deep in the
    table of contents, and ignores a commented-out entry and a chapter that reads no patient data."""
    toc = """format: jb-book
root: notebooks/intro
parts:
  - caption: Results
    chapters:
      - file: notebooks/guarded
        sections:
          - file: notebooks/new_chapter
      # - file: notebooks/ghost
  - caption: Appendix
    chapters:
      - file: notebooks/facts
      - file: book/bibliography
"""
    (tmp_path / "_toc.yml").write_text(toc, encoding="utf-8")
    (tmp_path / "notebooks").mkdir()

    def chapter(name, parameters, body):
        cell = "```{{code-cell}} ipython3\n{}{}\n```\n"
        # A notebook as the engine recognises one: MyST text with a kernel.
        header = "---\nkernelspec:\n  name: python3\n  display_name: Python 3\n---\n\n"
        text = header + "# " + name + "\n\n" + cell.format(":tags: [parameters, remove-cell]\n\n", parameters)
        (tmp_path / "notebooks" / f"{name}.md").write_text(text + cell.format("", body), encoding="utf-8")

    reads = "cohort = pd.read_parquet(cohort_path)"
    chapter("intro", 'cohort_path = "cohort.parquet"\nmin_cell = 5', reads)
    chapter("guarded", 'cohort_path = "cohort.parquet"\nmin_cell = 5', reads)
    chapter("new_chapter", 'cohort_path = "cohort.parquet"', reads)
    chapter("ghost", 'cohort_path = "cohort.parquet"', reads)
    chapter("facts", 'cohort_path = "cohort.parquet"\nparameters = {}', "print(parameters)")
    assert toc_chapters(tmp_path) == ["intro", "guarded", "new_chapter", "facts"]
    assert patient_data_chapters(tmp_path) == {"intro": True, "guarded": True, "new_chapter": False}


def test_too_few_is_one_to_min_cell_minus_one():
    assert [k for k in range(8) if privacy.too_few(k, 5)] == [1, 2, 3, 4]
    assert not any(privacy.too_few(k, 0) for k in range(8))  # min_cell 0 turns the rule off
    assert not any(privacy.too_few(k, 1) for k in range(8))


def test_suppress_hides_what_rests_on_a_small_group_and_lists_it():
    values = {"n": 3, "pct": 7.5, "mean": 2.0, "total": 40, "absent": None}
    out = privacy.suppress(values, {"n": 3, "pct": (3, 40), "mean": 12, "absent": 2}, 5)
    assert out == {"n": None, "pct": None, "mean": 2.0, "total": 40, "absent": None, "suppressed": ["n", "pct"]}
    assert privacy.suppress(values, {"n": 3, "pct": (3, 40)}, 0) == {**values, "suppressed": []}
    # A share whose denominator is small is hidden even with a zero numerator.
    assert privacy.suppress({"pct": 0.0}, {"pct": (0, 4)}, 5)["pct"] is None


def test_renamed_and_suppressed_with_carry_the_suppressed_names():
    values = {"n": None, "median": 30.0, "suppressed": ["n"]}
    assert privacy.renamed(values, {"n": "followup_n", "median": "followup_median_days"}) == {
        "followup_n": None,
        "followup_median_days": 30.0,
        "suppressed": ["followup_n"],
    }
    assert privacy.renamed({"a": 1}, {"a": "b"}) == {"b": 1, "suppressed": []}
    source = {"d_av": None, "pre_mean": 50.0, "suppressed": ["d_av"]}
    out = privacy.suppressed_with({"left": 0.4, "from_pre": 1.0}, source, {"left": ["d_av"], "from_pre": ["pre_mean"]})
    assert out == {"left": None, "from_pre": 1.0, "suppressed": ["left"]}


def test_suppress_cells_marks_the_table_and_nulls_the_records():
    frame = pd.DataFrame({"label": ["a", "b", "c"], "n": [2, 9, 0], "pct": [10.0, 45.0, 0.0]})
    hidden = privacy.suppress_cells(frame, privacy.row_sizes(frame, "n", ["n", "pct"]), 5)
    assert hidden.attrs["suppressed"] == [(0, "n"), (0, "pct")]
    shown, paths_ = privacy.mark_suppressed(hidden, "t", 5, counts=["n"])
    assert list(shown["n"]) == ["< 5 (suppressed)", 9, 0] and shown.loc[0, "pct"] == "suppressed"
    records = hidden.to_dict(orient="records")
    assert records[0] == {"label": "a", "n": None, "pct": None} and records[1]["n"] == 9
    assert paths_ == ["t[0].n", "t[0].pct"]
    # A denominator of 4 patients hides every share, and the count it divides, even a zero.
    small_base = privacy.suppress_cells(frame, privacy.row_sizes(frame, "n", ["n", "pct"], denominators=[4]), 5)
    assert small_base[["n", "pct"]].isna().all().all()
    # Rows another table already hid are hidden whole, and listed even where the value was missing.
    inherited = privacy.suppress_cells(
        frame.assign(pct=[10.0, None, 0.0]), {}, 5, privacy.hidden_rows([0, 1, 0], ["pct"])
    )
    assert inherited.attrs["suppressed"] == [(1, "pct")]
    assert privacy.mark_suppressed(inherited, "t")[0].loc[1, "pct"] == "suppressed"
    # A count hidden with its row reads "< 5" only when it is itself that small.
    rows = privacy.suppress_cells(frame, {}, 5, privacy.hidden_rows([1, 1, 0], ["n"]))
    assert list(privacy.mark_suppressed(rows, "t", 5, counts=["n"])[0]["n"]) == ["< 5 (suppressed)", "suppressed", 0]


def test_gather_lists_suppressed_values(tmp_path):
    def glued(name, value):
        return nbformat.v4.new_output(
            "display_data", data={results.GLUE_MIME: repr(value)}, metadata={"scrapbook": {"name": name}}
        )

    notebooks = {}
    for label, outputs in {
        "a": [glued("x", None), glued("suppressed:x", True), glued("y", 2)],
        "b": [
            glued("x", None),
            glued("suppressed:x", True),
            glued("t", [{"n": None}]),
            glued("suppressed:t[0].n", True),
        ],
    }.items():
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=outputs)])
        notebooks[label] = tmp_path / f"{label}.ipynb"
        nbformat.write(nb, notebooks[label])
    assert results.gather(notebooks) == {"x": None, "y": 2, "t": [{"n": None}], "suppressed": ["t[0].n", "x"]}


def _cohort(pre, post, **extra):
    frame = pd.DataFrame({"pcl5_pre": pd.array(pre, dtype="Int64"), "pcl5_post": pd.array(post, dtype="Int64")})
    for name, values in extra.items():
        frame[name] = values
    return frame


def test_cohort_summary_hides_shares_and_means_of_few_patients():
    n = 12
    frame = _cohort(
        [50] * n,
        [30] * n,
        age=pd.array([40, 50, 60] + [None] * 9, dtype="Int64"),
        gender=pd.array(["woman"] * 9 + ["man", None, None], dtype="string"),
        race_ethnicity=pd.array(["A"] * 11 + [None], dtype="string"),
        n_infusions=pd.array([5] * n, dtype="Int64"),
    )
    s = describe.cohort_summary(frame, 5)
    assert s["mean_age"] is None and s["pct_gender_unreported"] is None and s["pct_race_unreported"] is None
    assert s["pct_women"] == pytest.approx(90.0) and s["mean_infusions"] == 5.0 and s["n_patients"] == n
    assert s["suppressed"] == ["mean_age", "pct_gender_unreported", "pct_race_unreported"]
    off = describe.cohort_summary(frame, 0)
    assert off["mean_age"] == 50.0 and off["pct_gender_unreported"] == pytest.approx(100 * 2 / 12)


def test_table_one_suppresses_small_counts_and_pools_rare_labels():
    n = 14
    frame = _cohort(
        [50] * n,
        [30] * n,
        gender=pd.array(["woman"] * 10 + ["man"] * 3 + ["other"], dtype="string"),
        race_ethnicity=pd.array(["Common"] * 8 + ["RareA", "RareB", "RareC"] + [None] * 3, dtype="string"),
    )
    frame.attrs["absent_columns"] = [
        "age",
        "days_between",
        "n_infusions",
        "n_psych_meds",
        "suicidal_ideation",
        "psychotherapy",
    ]
    table = describe.table_one(frame, 5)
    cells = dict(zip(table["characteristic"] + "/" + table["level"], table["value"]))
    assert cells["Gender/woman"] == f"10 ({100 * 10 / 14:.1f}%)"
    assert cells["Gender/man"] == cells["Gender/other"] == "< 5 (suppressed)"
    assert cells["Race/ethnicity/3 smaller categories, pooled"] == "< 5 (suppressed)"
    assert not table["level"].str.contains("Rare").any()
    assert cells["Race/ethnicity/not reported"] == "< 5 (suppressed)"


def test_moderators_pool_small_gender_levels_and_suppress_small_yes_no_groups():
    rng = np.random.default_rng(5)
    n = 30
    pre = rng.integers(40, 80, n)
    post = pre - rng.integers(0, 30, n)
    gender = ["woman"] * 18 + ["man"] * 6 + ["nonbinary"] * 3 + ["other"] * 3
    therapy = [True] * 4 + [False] * 26
    frame = _cohort(
        pre,
        post,
        gender=pd.array(gender, dtype="string"),
        psychotherapy=pd.array(therapy, dtype="boolean"),
        age=pd.array(rng.integers(20, 70, n), dtype="Int64"),
    )
    table = stats.moderator_table(frame, ("age", "gender", "psychotherapy"), min_cell=5).set_index("moderator")
    # Gender: nonbinary and other (3 + 3) tested as one level, by an F test done here with scipy's OLS pieces.
    change = (pre - post).astype(float)
    pooled = np.array([g if g in ("woman", "man") else "pooled" for g in gender])
    base = np.column_stack([np.ones(n), pre])
    full = np.column_stack([base, pooled == "pooled", pooled == "woman"]).astype(float)
    rss = [np.sum((change - X @ np.linalg.lstsq(X, change, rcond=None)[0]) ** 2) for X in (base, full)]
    f = ((rss[0] - rss[1]) / 2) / (rss[1] / (n - 4))
    assert table.loc["gender", "p"] == pytest.approx(sps.f.sf(f, 2, n - 4), rel=1e-9)
    assert "pooled" in table.loc["gender", "note"] and table.loc["gender", "n"] == n
    assert table.loc["psychotherapy", "suppressed"] and pd.isna(table.loc["psychotherapy", "p"])
    assert not pd.isna(table.loc["age", "p"]) and 0 <= table.loc["age", "p"] <= 1 and not table.loc["age", "suppressed"]
    # Holm's family is the two tests shown: the smaller p doubled, the larger at least that.
    p_age, p_gender = table.loc["age", "p"], table.loc["gender", "p"]
    lo, hi = sorted([p_age, p_gender])
    holm = {lo: min(1.0, 2 * lo), hi: min(1.0, max(2 * lo, hi))}
    assert table.loc["age", "p_holm"] == pytest.approx(holm[p_age])
    assert table.loc["gender", "p_holm"] == pytest.approx(holm[p_gender])
    # min_cell 0: the original levels, nothing suppressed.
    off = stats.moderator_table(frame, ("gender", "psychotherapy"), min_cell=0).set_index("moderator")
    assert off.loc["gender", "note"].startswith("3 contrasts") and off.loc["psychotherapy", "p"] > 0


@pipeline
def test_the_own_data_page_offers_the_example_file_and_states_the_guard(canary_build):
    from bs4 import BeautifulSoup

    out, _, _ = canary_build
    page = out / "html" / "book" / "own_data.html"
    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in soup.find_all("a", href=True) if a["href"].endswith("example_cohort.csv")]
    assert len(links) == 1
    assert (page.parent / links[0]).read_bytes() == (paths.DATA / "example_cohort.csv").read_bytes()
    text = html_text(page)
    assert "What the privacy guard does" in text and "What it does not promise" in text
    assert soup.find("a", href=re.compile(r"cohort\.html#data-dictionary$"))


@pipeline
def test_no_count_the_rule_covers_is_published_below_min_cell(canary_build):
    # Every count of patients the schema says the rule may hide, not only the names checked above: a new
    # count published without the rule fails here. The canary has such counts (3 in remission, 3 with therapy).
    _, _, r = canary_build
    schema = json.loads(results.SCHEMA_PATH.read_text(encoding="utf-8"))["properties"]
    covered = [
        k for k, v in schema.items() if v.get("unit") == "patients" and "small-cell rule hid" in v["description"]
    ]
    assert len(covered) > 15
    small = {k: r[k] for k in covered if isinstance(r.get(k), int) and 1 <= r[k] < r["min_cell"]}
    assert small == {}
    assert {"n_remission", "n_psychotherapy"} <= set(r["suppressed"])
