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

# Inside a build's output folder.
HTML_DIRNAME = "html"
RESULTS_FILENAME = "results.json"
STATE_DIRNAME = ".state"
# Slow results kept between builds (engine/memo.py), relative to a notebook's working directory: the state.
CACHE_DIRNAME = "cache"
# The validated cohort a notebook reads, relative to the notebook's working directory.
COHORT_FILENAME = "cohort.parquet"
# The assessments after pre (one-row-per-assessment files only; empty otherwise), beside the cohort.
ASSESSMENTS_FILENAME = "assessments.parquet"
