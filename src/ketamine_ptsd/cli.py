"""The ``ketamine-ptsd`` command: ``build``, ``preview``, ``validate``, ``columns``, ``reconstruct`` and ``publish``.

Exit status: 0 success; 2 invalid data or arguments, or an output folder holding an ``html/`` or
``results.json`` the build did not make (it is left as it was); 75 another build of the same output folder
is running and ``--no-wait`` was given; 1 any other failure. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ketamine_ptsd import paths

EXIT_INVALID = 2
EXIT_FAILED = 1
#: BSD's EX_TEMPFAIL: try again later.
EXIT_BUSY = 75
#: Problems printed before the rest are only counted; every one is still checked.
MAX_PRINTED = 200
#: The committer of a published book on the gh-pages branch.
PUBLISH_AUTHOR = "ketamine-ptsd publish <publish@localhost>"


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _report_invalid(errors) -> int:
    from ketamine_ptsd.data.validate import summarised

    lines = summarised(errors)
    for line in lines[:MAX_PRINTED]:
        _err(line)
    if len(lines) > MAX_PRINTED:
        _err(f"... and {len(lines) - MAX_PRINTED} more lines of problems")
    _err(f"{len(errors)} problem(s) found; nothing was written.")
    return EXIT_INVALID


def _parameter_options(parser: argparse.ArgumentParser, help_param: str) -> None:
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help=help_param)
    parser.add_argument("--params", type=Path, metavar="FILE.yml", help="YAML file of parameters")


COLUMNS_HELP = (
    "YAML mapping of the file's column names and codes to the contract's (ketamine-ptsd columns FILE starts one)"
)


def _book_options(parser: argparse.ArgumentParser) -> None:
    """What a book is built from, the same for ``build`` and ``preview``."""
    parser.add_argument(
        "--data",
        type=Path,
        default=paths.BUNDLED_COHORT,
        help="cohort file (CSV, Parquet or .xlsx); default: the bundled synthetic cohort",
    )
    _parameter_options(parser, "override one parameter, e.g. --param mcid=15 (repeatable)")
    parser.add_argument("--jobs", type=int, default=None, help="notebooks executed at once (default: cores)")
    parser.add_argument("--columns", type=Path, metavar="FILE.yml", help=COLUMNS_HELP)


def _resolved_params(args) -> dict | None:
    """The parameters of ``--param`` and ``--params`` over the defaults; None (said in one line) when one is bad."""
    from ketamine_ptsd.parameters import ParameterError, parse_assignment, resolve

    try:
        return resolve(dict(parse_assignment(a) for a in args.param), args.params)
    except ParameterError as exc:
        _err(f"ketamine-ptsd {args.command}: {exc}")
        return None


def _parser() -> argparse.ArgumentParser:
    # The module's docstring is reStructuredText; --help prints plain text.
    parser = argparse.ArgumentParser(prog="ketamine-ptsd", description=__doc__.splitlines()[0].replace("``", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (
        _build_command,
        _preview_command,
        _validate_command,
        _columns_command,
        _reconstruct_command,
        _publish_command,
    ):
        add(sub)
    return parser


def _build_command(sub) -> None:
    build = sub.add_parser("build", help="validate a cohort file and build the book and results.json")
    build.add_argument(
        "--out",
        type=Path,
        default=paths.DEFAULT_OUT,
        help="output folder: gets html/ and results.json (default: _build)",
    )
    _book_options(build)
    build.add_argument(
        "--no-wait",
        action="store_true",
        help=f"when another build of the same --out is running, exit at once (status {EXIT_BUSY}) instead of "
        "waiting for it",
    )
    build.add_argument(
        "--pdf",
        action="store_true",
        help="also print the book to OUT/book.pdf (needs Chromium: apt-get install chromium)",
    )


def _preview_command(sub) -> None:
    preview = sub.add_parser(
        "preview",
        help="build, serve on 127.0.0.1 and rebuild on every save, reloading the open page",
        description="Builds the book into a private output folder (--out, default _build/preview), serves it on "
        "127.0.0.1 and rebuilds whenever a source changes (notebooks, book/, src/, data/, _config.yml, _toc.yml, "
        "the lock file and the --data, --columns and --params files), reloading the page open in the browser. A "
        "failed build keeps the last good pages and shows its message on them. Ctrl-C stops it.",
    )
    _book_options(preview)
    preview.add_argument(
        "--out", type=Path, default=paths.DEFAULT_OUT / "preview", help="output folder (default: _build/preview)"
    )
    preview.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free port)")


def _validate_command(sub) -> None:
    validate = sub.add_parser("validate", help="check a cohort file against the data contract")
    validate.add_argument("--data", type=Path, required=True, help="cohort file to check")
    validate.add_argument("--columns", type=Path, metavar="FILE.yml", help=COLUMNS_HELP)
    # The same parameters as build, so that a file validates as its build will read it (prorated totals).
    _parameter_options(validate, "a parameter as build takes it; validation reads pcl5_items_missing_max (repeatable)")


def _columns_command(sub) -> None:
    columns = sub.add_parser(
        "columns",
        help="write a starting column mapping for a clinic's export",
        description="Print (or write to --out) a mapping file for FILE: each column with the contract name it "
        "most likely means and why, and the values of each coded column to fill in. Check it, then pass it "
        "to build or validate with --columns.",
    )
    columns.add_argument("file", type=Path, metavar="FILE", help="the export (CSV, Parquet or .xlsx)")
    columns.add_argument("--out", type=Path, default=None, metavar="FILE.yml", help="write here (default: print)")


def _reconstruct_command(sub) -> None:
    reconstruct = sub.add_parser(
        "reconstruct",
        help="generate synthetic cohort(s) that reproduce the published aggregates",
        description=(
            "Without --n-cohorts: the bundled synthetic cohort (all columns of the data contract), written to "
            "--out (default data/cohort.csv). With --n-cohorts K: K cohorts of PCL-5 scores, each meeting every "
            "published constraint exactly (both means, both SDs, the counts behind 75% and 62%, baseline >= 33, "
            "psychotherapy d = 0.42), and one row per cohort of the statistics the paper did not report "
            "(r_pre_post, change_sd, change_ci_low/high, t, p, d_av, d_z, pct_reliable_improvement, "
            "pct_response, psychotherapy_d and its CI, ...), computed with the build's default parameters. "
            "Cohort k comes from numpy.random.SeedSequence(SEED).spawn(K)[k]: the same seed gives the same "
            "cohorts, and cohort k does not depend on K or on --jobs."
        ),
    )
    reconstruct.add_argument("--seed", type=int, default=None, help="random seed (default: the bundled cohort's)")
    reconstruct.add_argument(
        "--n-cohorts",
        type=int,
        default=None,
        metavar="K",
        help="make K cohorts and write their per-cohort statistics (see --long)",
    )
    reconstruct.add_argument(
        "--long",
        action="store_true",
        help="with --n-cohorts: write the cohorts themselves in long format instead, one row "
        "per patient (cohort, patient, pcl5_pre, pcl5_post, psychotherapy)",
    )
    reconstruct.add_argument("--jobs", type=int, default=1, help="with --n-cohorts: processes to use (default 1)")
    reconstruct.add_argument(
        "--out",
        type=Path,
        default=None,
        help="file to write: .parquet for Parquet, anything else CSV (default: data/cohort.csv "
        "for the bundled cohort; standard output with --n-cohorts)",
    )


def _publish_command(sub) -> None:
    publish = sub.add_parser(
        "publish",
        help="put a built book on a git remote's gh-pages branch (GitHub Pages)",
        description="Publishes OUT/html (and OUT/book.pdf when it is from the same build) with ghp-import, with "
        ".nojekyll; never OUT/.state or OUT/failed. Refuses a build that failed or is older than its sources.",
    )
    publish.add_argument("--out", type=Path, default=paths.DEFAULT_OUT, help="build folder (default: _build)")
    publish.add_argument("--remote", default="origin", help="remote name, URL or path (default: origin)")
    publish.add_argument("--message", default="Publish the book", help="commit message on gh-pages")


def _build(args) -> int:
    from ketamine_ptsd.engine.output import NotMadeByBuild, OutputBusy, machine_fault
    from ketamine_ptsd.engine.pdf import PdfFailed
    from ketamine_ptsd.engine.plan import BuildFailed
    from ketamine_ptsd.project import build

    params = _resolved_params(args)
    if params is None:
        return EXIT_INVALID
    try:
        report = build(
            args.data, args.out, params, jobs=args.jobs, columns=args.columns, wait=not args.no_wait, pdf=args.pdf
        )
    except OutputBusy as exc:
        _err(f"ketamine-ptsd build: {exc}")
        return EXIT_BUSY
    except NotMadeByBuild as exc:
        _err(f"ketamine-ptsd build: {exc}")
        return EXIT_INVALID
    except BuildFailed as exc:
        if fault := machine_fault(exc, Path(args.out).absolute()):
            _err(f"ketamine-ptsd build: {fault}")
            return EXIT_FAILED
        _err(f"build failed: {exc}")
        _err("The last good book and results.json were left as they were.")
        return EXIT_FAILED
    except PdfFailed as exc:
        _err(f"ketamine-ptsd build: no PDF: {exc}")
        _err("The HTML book and results.json were built as usual.")
        return EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - sorted below
        # Importing validation costs pandas and pandera; a rebuild with unchanged data never needs them.
        from ketamine_ptsd.data.validate import ValidationFailed

        if isinstance(exc, ValidationFailed):
            return _report_invalid(exc.errors)
        if fault := machine_fault(exc, Path(args.out).absolute()):
            _err(f"ketamine-ptsd build: {fault}")
            return EXIT_FAILED
        raise
    for warning in report.warnings:
        _err(f"warning: {warning}")
    return 0


#: Handed to a preview started again after its own code changed: the last good build the open pages saw.
PREVIEW_GENERATION = "KETAMINE_PTSD_PREVIEW_GENERATION"


def _preview(args) -> int:
    from ketamine_ptsd.engine.preview import Preview
    from ketamine_ptsd.parameters import parse_assignment, resolve
    from ketamine_ptsd.project import KetaminePtsd

    if _resolved_params(args) is None:
        return EXIT_INVALID
    assignments = dict(parse_assignment(a) for a in args.param)

    def make_project() -> KetaminePtsd:
        # Read again for every build: the parameter file is one of the sources being edited.
        return KetaminePtsd(args.data, resolve(assignments, args.params), args.columns)

    sources = [*(p for p in paths.BOOK_SOURCES if p.exists()), args.data]
    sources += [p for p in (args.columns, args.params) if p is not None]
    generation = int(os.environ.get(PREVIEW_GENERATION, "0"))
    try:
        preview = Preview(make_project, sources, args.out, args.port, _err, jobs=args.jobs, generation=generation)
    except OSError as exc:
        _err(f"ketamine-ptsd preview: cannot serve on 127.0.0.1:{args.port}: {exc.strerror}; try --port 0")
        return EXIT_FAILED
    if preview.run():
        # Its own code changed: the same command again, in this process's place, on the port the pages use.
        port = preview.server.server_address[1]
        env = {**os.environ, PREVIEW_GENERATION: str(preview.status.generation)}
        os.execve(sys.executable, [sys.executable, "-m", "ketamine_ptsd.cli", *args.argv, "--port", str(port)], env)
    return 0


def _publish(args) -> int:
    from ketamine_ptsd.engine.output import reading
    from ketamine_ptsd.engine.pdf import PDF_FILENAME
    from ketamine_ptsd.engine.publish import BUILT_STAMP, PublishRefused, check_publishable, publish, remote_url

    out = Path(args.out).absolute()
    state = out / paths.STATE_DIRNAME
    try:
        # Checked and copied while no build can be replacing the book.
        with reading(out, _err):
            check_publishable(out, out / paths.HTML_DIRNAME, state, paths.BOOK_SOURCES)
            url = remote_url(paths.REPO, args.remote)
            pdf = out / PDF_FILENAME
            # A PDF from an earlier build would not match the pages published beside it.
            fresh_pdf = pdf.is_file() and pdf.stat().st_mtime >= (state / BUILT_STAMP).stat().st_mtime
            commit = publish(out / paths.HTML_DIRNAME, url, args.message, PUBLISH_AUTHOR, [pdf] if fresh_pdf else [])
    except PublishRefused as exc:
        _err(f"ketamine-ptsd publish: {exc}")
        return EXIT_FAILED
    print(
        f"published {out / paths.HTML_DIRNAME}{' and ' + PDF_FILENAME if fresh_pdf else ''} to {url} (gh-pages {commit[:12]})"
    )
    return 0


def _validate(args) -> int:
    from ketamine_ptsd.data.validate import summarised, validate_file

    params = _resolved_params(args)
    if params is None:
        return EXIT_INVALID
    result = validate_file(args.data, args.columns, params["pcl5_items_missing_max"])
    for warning in summarised(result.warnings):
        _err(f"warning: {warning}")
    if not result.ok:
        return _report_invalid(result.errors)
    later = "" if result.assessments is None else f", {len(result.assessments)} later assessment(s)"
    print(f"{args.data}: valid, {len(result.cohort)} patients{later}, {len(result.warnings)} warning(s)")
    return 0


def _columns(args) -> int:
    from ketamine_ptsd.data.columns import suggest
    from ketamine_ptsd.data.validate import Refused

    try:
        text = suggest(args.file)
    except Refused as exc:
        return _report_invalid(exc.problems)
    if args.out is None:
        print(text, end="")
        return 0
    if args.out.exists():
        _err(f"ketamine-ptsd columns: {args.out} exists; not overwritten")
        return EXIT_INVALID
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote a starting mapping for {args.file} to {args.out}; check it and fill in the empty values")
    return 0


def _reconstruct(args) -> int:
    from ketamine_ptsd.analysis.reconstruction import DEFAULT_SEED, bundled_cohort, write_cohort

    seed = DEFAULT_SEED if args.seed is None else args.seed
    if args.n_cohorts is None:
        if args.long:
            _err("ketamine-ptsd reconstruct: --long needs --n-cohorts")
            return EXIT_INVALID
        out = paths.BUNDLED_COHORT if args.out is None else args.out
        cohort = bundled_cohort(seed)
        write_cohort(cohort, out)
        print(f"wrote {len(cohort)} synthetic patients to {out}")
        return 0
    if args.n_cohorts < 1 or args.jobs < 1:
        _err("ketamine-ptsd reconstruct: --n-cohorts and --jobs must be at least 1")
        return EXIT_INVALID
    from ketamine_ptsd.analysis.reconstruction import long_format, reconstruct_many, reconstruction_statistics
    from ketamine_ptsd.parameters import DEFAULTS

    rec = reconstruct_many(args.n_cohorts, seed, jobs=args.jobs)
    if args.long:
        table = long_format(rec)
    else:
        table = reconstruction_statistics(
            rec,
            **{k: DEFAULTS[k] for k in ("mcid", "reliability", "response_fraction", "remission_cutoff", "ci_level")},
        )
    if args.out is None:
        table.to_csv(sys.stdout, index=False, lineterminator="\n")
        return 0
    if args.out.suffix.lower() == ".parquet":
        table.to_parquet(args.out, index=False)
    else:
        table.to_csv(args.out, index=False, lineterminator="\n")
    what = "patient rows" if args.long else "cohort rows"
    print(f"wrote {len(table)} {what} ({args.n_cohorts} cohorts, seed {seed}) to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = _parser().parse_args(argv)
    args.argv = argv  # a preview starts itself again with them
    try:
        commands = {
            "build": _build,
            "preview": _preview,
            "validate": _validate,
            "columns": _columns,
            "reconstruct": _reconstruct,
            "publish": _publish,
        }
        return commands[args.command](args)
    except KeyboardInterrupt:
        _err("interrupted; the last good book and results.json were left as they were.")
        return 130
    except Exception as exc:  # noqa: BLE001 - the user gets one line, never a traceback
        _err(f"ketamine-ptsd {args.command}: {exc or 'stopped without saying why'}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
