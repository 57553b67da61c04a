"""Where things live. Every other module and notebook takes its paths from here."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data"
BUNDLED_COHORT = DATA / "cohort.csv"
NOTEBOOKS = REPO / "notebooks"
BOOK = REPO / "book"
PACKAGE = Path(__file__).resolve().parent
DEFAULT_OUT = REPO / "_build"
# The pinned environment: part of every cache key.
LOCK_FILE = REPO / "requirements.lock"
#: What a book is made from: a build older than any of these is out of date (``ketamine-ptsd publish`` checks).
BOOK_SOURCES = (
    NOTEBOOKS,
    BOOK,
    PACKAGE,
    DATA,
    REPO / "_config.yml",
    REPO / "_toc.yml",
    LOCK_FILE,
)

# Inside a build's output folder: the engine's layout (engine/output.py) and its kept results (engine/memo.py).
from ketamine_ptsd.engine.memo import CACHE_DIRNAME  # noqa: E402, F401
from ketamine_ptsd.engine.output import HTML_DIRNAME, RESULTS_FILENAME, STATE_DIRNAME  # noqa: E402, F401

# The validated cohort a notebook reads, relative to the notebook's working directory.
COHORT_FILENAME = "cohort.parquet"
# The assessments after pre (one-row-per-assessment files only; empty otherwise), beside the cohort.
ASSESSMENTS_FILENAME = "assessments.parquet"
