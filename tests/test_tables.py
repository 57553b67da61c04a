"""The house style of tables: what a reader sees in each cell, and what the CSV download keeps."""

import base64
import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

from ketamine_ptsd.presentation import tables


def rendered(frame, **kw):
    html = tables.show_table(frame, **kw).data
    return html, BeautifulSoup(html, "html.parser")


def body_cells(soup) -> list[list[str]]:
    return [[td.get_text(" ", strip=True) for td in tr.find_all("td")] for tr in soup.select("tbody tr") if tr.td]


def test_numbers_are_rounded_for_display_and_the_csv_keeps_full_precision():
    frame = pd.DataFrame({"name": ["a", "b"], "value": [1 / 3, 2.0], "n": [7, 12]})
    html, soup = rendered(frame, float_format="{:.1f}", decimals={"value": 3}, caption="Some numbers.")
    assert body_cells(soup) == [["a", "0.333", "7"], ["b", "2.000", "12"]]
    csv = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1)).decode()
    assert pd.read_csv(pd.io.common.StringIO(csv))["value"].tolist() == [1 / 3, 2.0]


def test_booleans_statuses_and_missing_values_are_words():
    frame = pd.DataFrame(
        {
            "test": ["x", "y", "z"],
            "significant": [True, False, np.nan],
            "status": ["matches", "differs", "not computable"],
            "p": [0.5, None, pd.NA],
        },
    ).astype({"significant": object})
    _, soup = rendered(frame, status=("status",), caption="Words.")
    cells = body_cells(soup)
    assert cells == [
        ["x", "✓ yes", "✓ matches", "0.50"],
        ["y", "✗ no", "✗ differs", "—"],
        ["z", "—", "○ not computable", "—"],
    ]
    text = soup.get_text(" ")
    for raw in ("True", "False", "nan", "None", "<NA>"):
        assert raw not in text


def test_text_from_the_data_is_escaped_everywhere():
    hostile = '<script>alert(1)</script> **bold** {glue:text}`n` ```{raw} html\n<b id="x">RAW</b>\n```'
    frame = pd.DataFrame({"label": [hostile], "note": [hostile], "source": [hostile]})
    html, soup = rendered(frame, details={"label": "note"}, sources="source", caption="Hostile.")
    assert "<script>" not in html and '<b id="x">' not in html
    assert soup.find("script") is None and soup.find(id="x") is None
    assert hostile.split("\n")[0] in soup.get_text()


def test_labels_spanners_groups_details_and_short_citations():
    frame = pd.DataFrame(
        {
            "claim": ["one", "two", "three"],
            "group": ["outcome", "sample", "outcome"],
            "low": [1.0, 2.0, 3.0],
            "high": [4.0, 5.0, 6.0],
            "why": ["because", None, "so"],
            "source": [
                "Feder et al. 2021, Am J Psychiatry 178:193",
                "this re-analysis",
                "Feder et al. 2021, Am J Psychiatry 178:193",
            ],
        }
    )
    _, soup = rendered(
        frame,
        caption="All options.",
        name="all",
        labels={"claim": "Claim", "low": "low (points)", "high": "high (points)"},
        spanners={"Confidence interval": ["low", "high"]},
        groups="group",
        details={"claim": "why"},
        sources="source",
    )
    headings = [th.get_text(strip=True) for th in soup.select("thead th")]
    assert "Confidence interval" in headings and "low (points)" in headings and "Claim" in headings
    # Groups in order of first appearance, rows kept in their order within a group.
    assert [th.get_text(strip=True) for th in soup.select("tbody th.gt_group_heading")] == ["outcome", "sample"]
    rows = body_cells(soup)
    assert [r[0] for r in rows] == ["one because", "three so", "two"]
    # Cited as the text cites it; noted as the bibliography lists it; a source that says all has no note.
    assert [r[-1] for r in rows] == ["Feder et al., 2021 1", "Feder et al., 2021 1", "this re-analysis"]
    assert "1. Feder, A., Costi, S., Rutter, S. B., et al. (2021)." in soup.select_one(".gt_sourcenotes").get_text()
    # The numbered-table extension finds the table by this opening and reads its caption from it.
    from ketamine_ptsd.engine.sphinx_tables import CAPTION, OPENING

    html = str(soup)
    assert OPENING.match(html).group("id") == "tbl-all"
    assert CAPTION.search(html).group("text") == "All options."


def test_a_float_format_that_is_not_a_precision_is_refused():
    with pytest.raises(ValueError, match="float_format"):
        tables.show_table(pd.DataFrame({"x": [1.0]}), float_format="{:g}")


def test_note_marks_are_the_notes_numbered_from_one_once_per_work():
    """Two spellings of one paper are one note; a source without a note takes no number; every mark has its
    note and every note its mark."""
    frame = pd.DataFrame(
        {
            "label": ["a", "b", "c", "d", "e", "f"],
            "source": [
                "this re-analysis",
                "Mitchell et al. 2021, Nat Med 27:1025 (MAPP1)",
                "Williams et al. 2022, Cochrane Database Syst Rev CD002795.pub3",
                "Mitchell et al. 2021, Nat Med 27:1025; Mitchell et al. 2023, Nat Med",
                "Blanchard et al. 2023, J Trauma Stress",
                "MacConnel et al., OSF preprint, abstract",
            ],
        }
    )
    _, soup = rendered(frame, sources="source", caption="Notes.")
    cells = [r[-1] for r in body_cells(soup)]
    assert cells == [
        "this re-analysis",
        "Mitchell et al., 2021 (MAPP1) 1",
        "Williams et al., 2022 2",
        "Mitchell et al., 2021 1 ; Mitchell et al., 2023 3",
        "Blanchard et al., 2023 4",
        "MacConnel et al., n.d. 5",
    ]
    marks = {int(sup.get_text()) for sup in soup.select("tbody sup")}
    notes = [div.get_text(" ", strip=True) for div in soup.select(".gt_sourcenote")]
    assert marks == set(range(1, len(notes) + 1))
    assert [n.split(".")[0] for n in notes] == [str(k) for k in range(1, len(notes) + 1)]
    assert len(set(n.split(". ", 1)[1] for n in notes)) == len(notes)
    assert notes[1].startswith("2. Williams, T., Phillips, N. J., Stein, D. J., & Ipser, J. C. (2022).")


def test_signs_kinds_and_p_values_in_the_house_style():
    frame = pd.DataFrame(
        {"what": ["change >= 5", "range 0-80"], "d": [-0.204, -0.0004], "share": [63.2478, 100.0], "p": [0.0271, 1e-5]}
    )
    _, soup = rendered(frame, decimals={"d": "d", "share": "share", "p": "p"})
    assert body_cells(soup) == [
        ["change \u2265 5", "\u22120.20", "63.2", ".027"],
        ["range 0\u201380", "0.00", "100.0", "< .001"],
    ]


def test_names_from_the_code_are_notation_code_or_words_never_labels():
    frame = pd.DataFrame(
        {
            "column": ["pcl5_pre_01 .. pcl5_pre_20", "ae_<name>"],
            "definition": ["pcl5_post < 31", "d_av"],
            "family": ["clinically_significant", "mean_change"],
            "id": ["mapp1_placebo_within", "x_y"],
        }
    )
    html, soup = rendered(frame, names=("column",), keys=("id",))
    assert [c.get_text() for c in soup.select("tbody td code")] == [
        "pcl5_pre_01",
        "pcl5_pre_20",
        "pcl5_post",
        "ae_<name>",
    ]
    assert "<i>d</i><sub>av</sub>" in html
    assert body_cells(soup)[0][2] == "clinically significant change"
    # A key for machines is in the CSV, not on the page.
    assert "mapp1_placebo_within" not in soup.get_text()
    csv = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1)).decode()
    assert "mapp1_placebo_within" in csv


def test_a_parameter_value_that_is_a_name_is_code_and_other_values_read_as_values():
    frame = pd.DataFrame(
        {"parameter": ["bias_sd", "reliability", "bias_low", "x"], "value": ["d_av", 31.0, -0.5, "not set"]}
    )
    html, soup = rendered(frame, names=("parameter",), values=("value",))
    # The value d_av is what a user types in the parameter file, not the statistic d_av it selects.
    assert [c.get_text() for c in soup.select("tbody td code")] == ["bias_sd", "d_av", "reliability", "bias_low", "x"]
    assert "<i>d</i><sub>av</sub>" not in html
    assert [row[1] for row in body_cells(soup)] == ["d_av", "31", "\u22120.5", "not set"]


def test_decimals_by_row_follow_each_row_s_quantity():
    frame = pd.DataFrame({"family": ["a share", "points"], "estimate": [63.2478, 23.7564]})
    _, soup = rendered(frame, decimals={"estimate": pd.Series(["share", "points"])})
    assert [row[1] for row in body_cells(soup)] == ["63.2", "23.76"]
