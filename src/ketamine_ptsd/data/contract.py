"""The cohort data contract: every column a cohort file may hold, and the rules it must follow.

This module is the single source of truth for the input columns. :mod:`ketamine_ptsd.data.validate` enforces
what is written here (names, kinds, ranges, spellings, the thresholds of warnings), and the book's data
dictionary page is generated from :func:`data_dictionary`, so the page, the checks and this file cannot
drift apart.

Examples
--------
>>> from ketamine_ptsd.data.contract import COLUMNS, REQUIRED_COLUMNS, ITEM_COLUMNS
>>> REQUIRED_COLUMNS
('patient_id', 'pcl5_pre', 'pcl5_post')
>>> ITEM_COLUMNS["post"][0], len(ITEM_COLUMNS["post"])
('pcl5_post_01', 20)
>>> len(COLUMNS)
53
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pandas as pd

#: The kinds a column may have, as the data dictionary names them.
KINDS = ("text", "integer", "boolean", "date", "category")

#: PCL-5 total below which probable PTSD is unlikely (Bovin et al. 2016, NCPTSD); a cohort of
#: treatment-resistant PTSD rarely starts below it, so such a baseline draws a warning.
PROBABLE_PTSD_CUTOFF = 33

#: Number of PCL-5 items per assessment.
N_ITEMS = 20

#: Accepted spellings of ``gender`` (compared in lower case after trimming) and the value each stands for.
GENDER_SPELLINGS: dict[str, str] = {
    "woman": "woman",
    "female": "woman",
    "f": "woman",
    "man": "man",
    "male": "man",
    "m": "man",
    "nonbinary": "nonbinary",
    "non-binary": "nonbinary",
    "other": "other",
}

#: The values ``gender`` takes in the validated cohort.
GENDER_VALUES = ("woman", "man", "nonbinary", "other")

#: Accepted spellings of a boolean (compared in lower case after trimming) and the value each stands for.
#: ``1.0``/``0.0`` are how numeric exports (a float column with gaps) write 1 and 0.
BOOLEAN_SPELLINGS: dict[str, bool] = {
    "true": True,
    "false": False,
    "yes": True,
    "no": False,
    "1": True,
    "0": False,
    "1.0": True,
    "0.0": False,
}

#: Cell texts that mean "no value", compared in lower case after trimming: real exports write them for
#: missing values (R writes ``NA``, pandas ``NaN``, databases ``NULL``). They count as empty cells.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none"})

#: Spreadsheet error values. They mean a formula failed, not that a value is missing, so they are errors.
SPREADSHEET_ERRORS = (
    "#N/A",
    "#VALUE!",
    "#REF!",
    "#DIV/0!",
    "#NUM!",
    "#NAME?",
    "#NULL!",
    "#SPILL!",
    "#CALC!",
    "#GETTING_DATA",
)

#: File types by extension (lower case).
FILE_TYPES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".xlsx": "xlsx"}


@dataclass(frozen=True)
class Column:
    """One column of the cohort file.

    Parameters
    ----------
    name : str
        The column's name in the file and in the validated cohort.
    required : bool
        Whether the file must have the column. ``pcl5_pre`` and ``pcl5_post`` count as present when all
        20 item columns of their time point are there instead.
    kind : str
        One of :data:`KINDS`.
    rule : str
        What a value must be, in words, as the data dictionary shows it.
    description : str
        What the column means.
    minimum, maximum : int or None
        Legal range of an integer column (inclusive); ``None`` = unbounded on that side.
    unusual_below, unusual_above : int or None
        Legal values strictly below / above these draw a warning.
    unusual_why : str
        The reason given in that warning.
    """

    name: str
    required: bool
    kind: str
    rule: str
    description: str
    minimum: int | None = None
    maximum: int | None = None
    unusual_below: int | None = None
    unusual_above: int | None = None
    unusual_why: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown kind {self.kind!r} for column {self.name!r}")


def _items(time_point: str) -> list[str]:
    return [f"pcl5_{time_point}_{i:02d}" for i in range(1, N_ITEMS + 1)]


#: Item columns per time point, in order: ``{"pre": ["pcl5_pre_01", ...], "post": [...]}``.
ITEM_COLUMNS: dict[str, list[str]] = {"pre": _items("pre"), "post": _items("post")}

# DSM-5 symptom clusters of the PCL-5 items (National Center for PTSD).
_CLUSTERS = {
    **{i: "B, intrusion" for i in range(1, 6)},
    6: "C, avoidance",
    7: "C, avoidance",
    **{i: "D, negative cognitions and mood" for i in range(8, 15)},
    **{i: "E, arousal and reactivity" for i in range(15, 21)},
}

_ITEM_RULE = (
    "whole number 0-4. In each row the 20 items of a time point are given or all empty; where they are all "
    "given, the total is their sum (a given total must equal it). Up to pcl5_items_missing_max (a parameter, "
    "default 2) may be empty: the total is then prorated, the mean of the answered items x 20 rounded to a "
    "whole number (a given total must equal it or the answered items' sum). With more empty there is no total: "
    "an error for the baseline, a missing assessment otherwise (one warning). The file has all 20 item columns "
    "of a time point or none"
)


def _item_columns(time_point: str, when: str) -> list[Column]:
    return [
        Column(
            name, False, "integer", _ITEM_RULE, f"PCL-5 item {i} (cluster {_CLUSTERS[i]}) {when}", minimum=0, maximum=4
        )
        for i, name in enumerate(ITEM_COLUMNS[time_point], start=1)
    ]


#: Every column of the contract, in contract order.
COLUMNS: tuple[Column, ...] = (
    Column(
        "patient_id",
        True,
        "text",
        "non-empty and unique (compared after trimming spaces; letter case matters). An identifier: "
        "never shown in the book or in results.json",
        "Patient identifier",
    ),
    Column(
        "pcl5_pre",
        True,
        "integer",
        "whole number 0-80; may be empty where the items pcl5_pre_01 .. pcl5_pre_20 are given (the total is "
        "then their sum, or prorated); the column may be left out when the file has those items. "
        f"Below {PROBABLE_PTSD_CUTOFF} is accepted with a warning",
        "PCL-5 total before the first infusion",
        minimum=0,
        maximum=80,
        unusual_below=PROBABLE_PTSD_CUTOFF,
        unusual_why=f"below {PROBABLE_PTSD_CUTOFF}, the probable-PTSD cutoff; unusual for a "
        "treatment-resistant PTSD cohort",
    ),
    Column(
        "pcl5_post",
        True,
        "integer",
        "whole number 0-80, or empty = no post-treatment assessment (dropout); where the items "
        "pcl5_post_01 .. pcl5_post_20 are given the total is their sum (or prorated); the column may be left out "
        "when the file has those items. At least one patient must have a value (a completer)",
        "PCL-5 total after treatment",
        minimum=0,
        maximum=80,
    ),
    *_item_columns("pre", "before the first infusion"),
    *_item_columns("post", "after treatment"),
    Column(
        "days_between",
        False,
        "integer",
        "whole number >= 0; where date_pre and date_post are also given it must equal their difference, "
        "where it is empty it is derived from them. Above 365 is accepted with a warning",
        "Days from the pre to the post assessment",
        minimum=0,
        unusual_above=365,
        unusual_why="more than a year between the assessments",
    ),
    Column(
        "date_pre",
        False,
        "date",
        "date (YYYY-MM-DD, or the column mapping's format: date) that exists in the calendar; used with "
        "date_post to derive days_between "
        "(one of the two date columns alone is ignored, with a warning)",
        "Date of the pre-treatment assessment",
    ),
    Column(
        "date_post",
        False,
        "date",
        "date (YYYY-MM-DD, or the column mapping's format: date) that exists in the calendar, not before date_pre",
        "Date of the post-treatment assessment",
    ),
    Column(
        "age",
        False,
        "integer",
        "whole number 18-110; above 90 is accepted with a warning",
        "Age in years",
        minimum=18,
        maximum=110,
        unusual_above=90,
        unusual_why="older than 90; check the value",
    ),
    Column(
        "gender",
        False,
        "category",
        "woman, man, nonbinary or other; female and f are read as woman, male and m as man, non-binary "
        "as nonbinary; any letter case; empty = not reported",
        "Gender",
    ),
    Column(
        "race_ethnicity",
        False,
        "text",
        "free text (a category label), spaces around it trimmed; empty = not reported",
        "Race or ethnicity",
    ),
    Column(
        "n_infusions",
        False,
        "integer",
        "whole number >= 1; above 30 is accepted with a warning",
        "Ketamine infusions received",
        minimum=1,
        unusual_above=30,
        unusual_why="more than 30 infusions; check the value",
    ),
    Column("n_psych_meds", False, "integer", "whole number >= 0", "Psychiatric medications at baseline", minimum=0),
    Column(
        "suicidal_ideation",
        False,
        "boolean",
        "true/false, yes/no or 1/0 (also 1.0/0.0), any letter case; empty = unknown",
        "Suicidal ideation at baseline",
    ),
    Column(
        "psychotherapy",
        False,
        "boolean",
        "true/false, yes/no or 1/0 (also 1.0/0.0), any letter case; empty = unknown",
        "Concomitant psychotherapy during treatment",
    ),
)

#: Columns by name.
BY_NAME: dict[str, Column] = {c.name: c for c in COLUMNS}

#: Names of the required columns, in contract order.
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)

#: All 40 item column names.
ALL_ITEM_COLUMNS = tuple(ITEM_COLUMNS["pre"] + ITEM_COLUMNS["post"])

#: Columns of the validated cohort, in order, with their pandas dtypes. Item columns follow them when the
#: file has them (``Int64``).
COHORT_DTYPES: dict[str, str] = {
    "patient_id": "string",
    "pcl5_pre": "Int64",
    "pcl5_post": "Int64",
    "days_between": "Int64",
    "age": "Int64",
    "gender": "string",
    "race_ethnicity": "string",
    "n_infusions": "Int64",
    "n_psych_meds": "Int64",
    "suicidal_ideation": "boolean",
    "psychotherapy": "boolean",
}

#: Optional columns whose absence the validated cohort records in ``cohort.attrs["absent_columns"]``.
OPTIONAL_COLUMNS = tuple(c.name for c in COLUMNS if not c.required)


def _collapsed(columns: list[Column]) -> dict:
    first, last = columns[0], columns[-1]
    return {
        "column": f"{first.name} .. {last.name}",
        "required": "no",
        "type": first.kind,
        "rule": first.rule,
        "description": first.description.replace("item 1 (cluster B, intrusion)", "items 1-20"),
    }


def data_dictionary() -> pd.DataFrame:
    """The data dictionary: one row per column, the 40 item columns collapsed into two rows.

    Returns
    -------
    pandas.DataFrame
        Columns ``column``, ``required``, ``type``, ``rule``, ``description``. ``required`` is ``"yes"``,
        ``"yes, or its items"`` (the PCL-5 totals) or ``"no"``.

    Examples
    --------
    >>> dd = data_dictionary()
    >>> list(dd.columns)
    ['column', 'required', 'type', 'rule', 'description']
    >>> dd["column"].iloc[3]
    'pcl5_pre_01 .. pcl5_pre_20'
    """
    rows = []
    for c in COLUMNS:
        if c.name in ALL_ITEM_COLUMNS:
            if c.name in (ITEM_COLUMNS["pre"][0], ITEM_COLUMNS["post"][0]):
                tp = "pre" if c.name.startswith("pcl5_pre") else "post"
                rows.append(_collapsed([BY_NAME[n] for n in ITEM_COLUMNS[tp]]))
            continue
        if c.name in ("pcl5_pre", "pcl5_post"):
            required = "yes, or its items"
        else:
            required = "yes" if c.required else "no"
        rows.append(
            {"column": c.name, "required": required, "type": c.kind, "rule": c.rule, "description": c.description}
        )
    return pd.DataFrame(rows, columns=["column", "required", "type", "rule", "description"])


# --------------------------------------------------------------------------------------------------
# Real clinic exports: adverse events and one row per assessment

#: ``ae_<name>``: the patient had this adverse event at any time during the course. The name is lower-case
#: words (letters and digits, the first a letter) joined by single ``_``, so that it reads as the event's name
#: in the book: a REDCap checkbox column such as ``ae___1`` is not one (:data:`CHECKBOX`).
AE_PATTERN = r"ae_[a-z][a-z0-9]*(?:_[a-z0-9]+)*"

#: A REDCap checkbox: one column per choice, ``field___code``, holding 1 where the choice is ticked.
CHECKBOX = re.compile(r"(?P<field>[a-z0-9_]*?)___(?P<code>[a-z0-9]+)")
#: REDCap's own bookkeeping columns: a form's completion status, repeating instruments, access groups.
REDCAP_BOOKKEEPING = re.compile(r".*_complete|redcap_repeat_.*|redcap_data_access_group|redcap_survey_identifier")

_BOOLEAN_RULE = (
    "true/false, yes/no or 1/0 (also 1.0/0.0), any letter case; empty = not recorded. With one row per "
    "assessment it may differ between visits: the patient had the event if any visit says so (recorded if "
    "any visit has a value)"
)

#: The serious-adverse-event column; ``ae_*`` columns are made by :func:`adverse_event_column`.
SERIOUS_ADVERSE_EVENT = Column(
    "serious_adverse_event", False, "boolean", _BOOLEAN_RULE, "A serious adverse event during the course"
)


def adverse_event_column(name: str) -> Column | None:
    """The contract's column for an adverse-event name, or ``None`` when ``name`` is not one.

    >>> adverse_event_column("ae_nausea").kind, adverse_event_column("nausea"), adverse_event_column("ae___1")
    ('boolean', None, None)
    """
    if name == SERIOUS_ADVERSE_EVENT.name:
        return SERIOUS_ADVERSE_EVENT
    if re.fullmatch(AE_PATTERN, name):
        return Column(name, False, "boolean", _BOOLEAN_RULE, f"Adverse event: {name.removeprefix('ae_')}")
    return None


#: Assessment labels of the one-row-per-assessment format, in time order.
ASSESSMENT_LABELS = ("pre", "interim", "post", "followup")

#: Item columns of one assessment in the one-row-per-assessment format.
LONG_ITEM_COLUMNS = [f"pcl5_{i:02d}" for i in range(1, N_ITEMS + 1)]

#: Columns only the one-row-per-assessment format has (it also has ``patient_id`` and the patient-level
#: columns).
LONG_COLUMNS: tuple[Column, ...] = (
    Column(
        "assessment",
        True,
        "text",
        "pre, interim, post or followup (any case): exactly one pre per patient, at most one post, interim "
        "between them, followup after post",
        "Which assessment the row is",
    ),
    Column(
        "days",
        False,
        "integer",
        "whole number >= 0: days since the patient's pre assessment (pre itself: 0); or give date",
        "Days since the pre assessment",
        minimum=0,
    ),
    Column(
        "date",
        False,
        "date",
        "date (YYYY-MM-DD, or the column mapping's format: date); days are derived from it",
        "Date of the assessment",
    ),
    Column(
        "pcl5",
        True,
        "integer",
        "whole number 0-80; may be empty where the items pcl5_01 .. pcl5_20 are given (the total is then their "
        "sum, or prorated). A row with neither a total nor any item (a scheduled assessment never done) is left "
        "out, with one warning counting such rows",
        "PCL-5 total of the assessment",
        minimum=0,
        maximum=80,
    ),
    *[
        Column(name, False, "integer", _ITEM_RULE, f"PCL-5 item {i} of the assessment", minimum=0, maximum=4)
        for i, name in enumerate(LONG_ITEM_COLUMNS, start=1)
    ],
)

#: Columns that describe a patient, not an assessment: in the one-row-per-assessment format they may repeat
#: on every row of a patient or be given on one row, but may not differ; except the adverse events
#: (``serious_adverse_event`` and ``ae_*``), recorded visit by visit: the patient had one if any visit says so.
PATIENT_LEVEL_COLUMNS = (
    "age",
    "gender",
    "race_ethnicity",
    "n_infusions",
    "n_psych_meds",
    "suicidal_ideation",
    "psychotherapy",
    "serious_adverse_event",
)

_LONG_BY_NAME = {c.name: c for c in LONG_COLUMNS}


def wide_column(name: str) -> Column | None:
    """The column ``name`` of a one-row-per-patient file (the contract's columns and adverse events)."""
    return BY_NAME.get(name) or adverse_event_column(name)


def long_column(name: str) -> Column | None:
    """The column ``name`` of a one-row-per-assessment file."""
    if name in _LONG_BY_NAME:
        return _LONG_BY_NAME[name]
    if name in ("patient_id", *PATIENT_LEVEL_COLUMNS):
        return wide_column(name)
    return adverse_event_column(name)


def known_column(name: str) -> Column | None:
    """Any column the contract knows, in either format (what a column mapping may map to)."""
    return wide_column(name) or long_column(name)


def clinic_dictionary() -> pd.DataFrame:
    """The data dictionary of what a clinic's export adds: the one-row-per-assessment columns (items
    collapsed into one row) and the adverse-event columns, in the columns of :func:`data_dictionary`.

    >>> clinic_dictionary()["column"].tolist()[:4]
    ['assessment', 'days', 'date', 'pcl5']
    """
    rows = []
    for c in LONG_COLUMNS:
        if c.name in LONG_ITEM_COLUMNS[1:]:
            continue
        name, description = c.name, c.description
        if c.name == LONG_ITEM_COLUMNS[0]:
            name, description = f"{c.name} .. {LONG_ITEM_COLUMNS[-1]}", "PCL-5 items 1-20 of the assessment"
        required = {
            "assessment": "yes (one row per assessment)",
            "days": "yes, or date",
            "pcl5": "yes, or its items",
        }
        rows.append(
            {
                "column": name,
                "required": required.get(c.name, "no"),
                "type": c.kind,
                "rule": c.rule,
                "description": description,
            }
        )
    example = adverse_event_column("ae_name")
    for c, name in ((example, "ae_<name>"), (SERIOUS_ADVERSE_EVENT, SERIOUS_ADVERSE_EVENT.name)):
        description = (
            "Adverse event <name> (lower-case words joined by _, e.g. ae_nausea) at any time during the course"
            if c is example
            else c.description
        )
        rows.append({"column": name, "required": "no", "type": c.kind, "rule": c.rule, "description": description})
    return pd.DataFrame(rows, columns=["column", "required", "type", "rule", "description"])


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


_KEYS = {_key(c.name): c.name for c in COLUMNS}


def did_you_mean(name: str) -> str | None:
    """The contract column an unknown name was probably meant to be."""
    k = _key(name)
    if k in _KEYS:
        return _KEYS[k]
    close = difflib.get_close_matches(k, list(_KEYS), n=1, cutoff=0.85)
    return _KEYS[close[0]] if close else None
