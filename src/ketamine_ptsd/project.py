"""This book, as the build engine sees it: what a notebook is offered, how the cohort file is checked, what
is published. The engine (:mod:`ketamine_ptsd.engine`) knows nothing about PTSD; this module is the
project's side of :class:`ketamine_ptsd.engine.plan.Project`.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ketamine_ptsd import paths
from ketamine_ptsd.engine import build as engine_build
from ketamine_ptsd.engine.output import sha256_file
from ketamine_ptsd.engine.plan import BuildFailed, BuildReport, import_closure, sha_text

#: Book sources copied into every render, besides the executed notebooks (and book/). The example cohort,
#: the clinic and REDCap exports and their column mappings are offered for download by the page on running the
#: book on one's own data.
BOOK_FILES = (
    "_config.yml",
    "_toc.yml",
    "data/example_cohort.csv",
    "data/example_clinic_export.csv",
    "data/example_columns.yml",
    "data/example_redcap_export.csv",
    "data/example_redcap_columns.yml",
)


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=paths.REPO, capture_output=True, text=True, timeout=10)
        if head.returncode:
            return ""
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=paths.REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return head.stdout.strip() + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


class KetaminePtsd:
    """The report built from one cohort file (read through the mapping file ``columns``, if any) with one set of
    parameters (defaults for those not given)."""

    name = "ketamine-ptsd"
    root = paths.REPO
    package = paths.PACKAGE.name
    lock_file = paths.LOCK_FILE
    #: What the package's modules import, and what they import inside functions (a kernel would import
    #: it at first use): pandas imports pyarrow's dataset and Parquet readers at the first
    #: ``read_parquet`` and its matplotlib converters at the first plot; tables are drawn by great-tables,
    #: figures shown as SVG; :mod:`ketamine_ptsd.engine.memo` keeps results with joblib.
    libraries = (
        "pandas",
        "scipy.stats",
        "statsmodels.formula.api",
        "statsmodels.duration.survfunc",
        "statsmodels.stats.proportion",
        "matplotlib.pyplot",
        "matplotlib.backends.backend_svg",
        "pandas.plotting._matplotlib",
        "seaborn",
        "pingouin",
        "pyarrow.dataset",
        "pyarrow.parquet",
        "great_tables",
        "joblib",
        "myst_nb.ext.glue",
        "IPython.display",
    )

    def __init__(
        self,
        data: Path | str = paths.BUNDLED_COHORT,
        params: dict[str, Any] | None = None,
        columns: Path | str | None = None,
    ):
        from ketamine_ptsd.parameters import resolve

        self.data = Path(data).absolute()
        self.columns = None if columns is None else Path(columns).absolute()
        self.params = resolve(params)

    def book_files(self) -> list[Path]:
        files = [paths.REPO / f for f in BOOK_FILES]
        return files + sorted(p for p in paths.BOOK.rglob("*") if p.is_file())

    def inputs(self) -> tuple[dict[str, Any], str]:
        if not self.data.is_file() or (self.columns is not None and not self.columns.is_file()):
            from ketamine_ptsd.data.validate import ValidationFailed, validate_file

            raise ValidationFailed(validate_file(self.data, self.columns).errors)
        data_sha256 = sha256_file(self.data)
        mapping_sha256 = None if self.columns is None else sha256_file(self.columns)
        # What the notebooks read: the cohort validated from the data file, read through the mapping that renames
        # and recodes it, with the totals prorated as the parameter allows, by this validation code (a change to
        # it can change the cohort, so every chapter runs again).
        validator = import_closure("import ketamine_ptsd.data.validate", self.package)
        self.input_digest = sha_text(
            json.dumps(
                [
                    data_sha256,
                    mapping_sha256,
                    self.params["pcl5_items_missing_max"],
                    [sha256_file(p) for p in validator.values()],
                ]
            )
        )
        bundled = paths.BUNDLED_COHORT.exists() and data_sha256 == sha256_file(paths.BUNDLED_COHORT)
        values = {
            **self.params,
            "cohort_path": paths.COHORT_FILENAME,
            "assessments_path": paths.ASSESSMENTS_FILENAME,
            "data_origin": "synthetic" if bundled else "user",
            "data_sha256": data_sha256,
            "mapping_sha256": mapping_sha256,
            "git_commit": git_commit(),
            "parameters": self.params,
        }
        return values, self.input_digest

    def prepare(self, state: Path, echo: Callable[[str], None]) -> list[str]:
        """Validate the cohort file and store the validated cohort (``cohort_path``) for the notebooks, with the
        later assessments of a one-row-per-assessment file (``assessments_path``); reuse them when neither the
        input nor the validation code changed (both are in ``input_digest``). Raises :class:`ketamine_ptsd.data.validate.ValidationFailed` with
        every problem, before anything is written."""
        key = self.input_digest
        cohort_file = state / paths.COHORT_FILENAME
        key_file, warnings_file = state / "cohort.key", state / "cohort.warnings.json"
        stored = [cohort_file, state / paths.ASSESSMENTS_FILENAME, warnings_file]
        kept = _read_key(key_file)
        if kept is not None and kept.get("key") == key:
            if kept.get("files") == _digests(stored):
                warnings = json.loads(warnings_file.read_text())
                echo(f"validate: unchanged data file, {len(warnings)} warning(s)")
                return warnings
            echo(f"cache: {paths.COHORT_FILENAME} damaged or missing, validating again")
        from ketamine_ptsd.data.validate import ValidationFailed, summarised, validate_file

        result = validate_file(self.data, self.columns, self.params["pcl5_items_missing_max"])
        if not result.ok:
            raise ValidationFailed(result.errors)
        warnings = summarised(result.warnings)
        state.mkdir(parents=True, exist_ok=True)
        from ketamine_ptsd.data.long import later_assessments

        for frame, target in (
            (later_assessments(result), state / paths.ASSESSMENTS_FILENAME),
            (result.cohort, cohort_file),
        ):
            tmp = target.with_suffix(".tmp")
            frame.to_parquet(tmp)
            os.replace(tmp, target)
        warnings_file.write_text(json.dumps(warnings))
        # Last, with the digest of every file it vouches for: a build stopped before this point, or a file cut
        # short or changed since, validates again.
        key_file.write_text(json.dumps({"key": key, "files": _digests(stored)}))
        echo(f"validate: {len(result.cohort)} patients, {len(warnings)} warning(s)")
        return warnings

    def results(self, notebooks: dict[str, Path]) -> dict[str, Any]:
        """The values the notebooks glued, held to ``results.schema.json`` before anything is published."""
        from ketamine_ptsd.presentation.results import check_schema, gather

        try:
            results = gather(notebooks)
        except ValueError as exc:
            raise BuildFailed(f"gathering the results: {exc}") from None
        problems = check_schema(results)
        if problems:
            raise BuildFailed(
                f"results.json would not match results.schema.json ({len(problems)} problem(s)):\n"
                + "\n".join(problems[:20])
            )
        return results

    def published_files(self) -> dict[str, Path]:
        """The schema (``presentation.results.SCHEMA_PATH``), beside ``results.json``: a reviewer's own tools
        can check the results with it. Found without importing that module (and pandas with it): a rebuild
        with nothing to do asks for it too."""
        schema = paths.PACKAGE / "presentation" / "results.schema.json"
        return {schema.name: schema}

    def failure_message(self, exc: BaseException) -> str | None:
        """Invalid data as ``validate`` prints it: each problem on its line, repeated ones summarised."""
        from ketamine_ptsd.data.validate import ValidationFailed, summarised

        if not isinstance(exc, ValidationFailed):
            return None
        return "\n".join([*summarised(exc.errors), f"{len(exc.errors)} problem(s) found in the data."])


def _digests(files: list[Path]) -> dict[str, str | None]:
    """SHA-256 of each file by name (None for one that cannot be read)."""
    out = {}
    for path in files:
        try:
            out[path.name] = sha256_file(path)
        except OSError:
            out[path.name] = None
    return out


def _read_key(path: Path) -> dict | None:
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):  # missing, damaged, or an older build's plain key
        return None
    return kept if isinstance(kept, dict) else None


def build(
    data: Path | str = paths.BUNDLED_COHORT,
    out: Path | str = paths.DEFAULT_OUT,
    params: dict[str, Any] | None = None,
    jobs: int | None = None,
    echo: Callable[[str], None] | None = None,
    columns: Path | str | None = None,
    wait: bool = True,
    pdf: bool = False,
) -> BuildReport:
    """Build the book for cohort file ``data`` into ``out`` (:func:`ketamine_ptsd.engine.build.build`)."""
    kw = {} if echo is None else {"echo": echo}
    return engine_build.build(KetaminePtsd(data, params, columns), out, jobs=jobs, wait=wait, pdf=pdf, **kw)
