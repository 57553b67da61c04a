"""The ``ketamine-ptsd`` command: ``build``, ``validate`` and ``reconstruct``.

Exit status: 0 success, 2 invalid data or arguments, 1 any other failure. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import paths

EXIT_INVALID = 2
EXIT_FAILED = 1
#: Problems printed before the rest are only counted; every one is still checked.
MAX_PRINTED = 200


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _report_invalid(errors) -> int:
    for problem in errors[:MAX_PRINTED]:
        _err(str(problem))
    if len(errors) > MAX_PRINTED:
        _err(f"... and {len(errors) - MAX_PRINTED} more problems")
    _err(f"{len(errors)} problem(s) found; nothing was written.")
    return EXIT_INVALID


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ketamine-ptsd", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="validate a cohort file and build the book and results.json")
    build.add_argument("--data", type=Path, default=paths.BUNDLED_COHORT,
                       help="cohort file (CSV, Parquet or .xlsx); default: the bundled synthetic cohort")
    build.add_argument("--out", type=Path, default=paths.DEFAULT_OUT,
                       help="output folder: gets html/ and results.json (default: _build)")
    build.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="override one parameter, e.g. --param mcid=15 (repeatable)")
    build.add_argument("--params", type=Path, metavar="FILE.yml", help="YAML file of parameters")
    build.add_argument("--jobs", type=int, default=None, help="notebooks executed at once (default: cores)")

    validate = sub.add_parser("validate", help="check a cohort file against the data contract")
    validate.add_argument("--data", type=Path, required=True, help="cohort file to check")

    reconstruct = sub.add_parser("reconstruct", help="generate the synthetic cohort(s) from the published aggregates")
    reconstruct.add_argument("--seed", type=int, default=None, help="random seed (default: the bundled cohort's)")
    reconstruct.add_argument("--out", type=Path, default=paths.BUNDLED_COHORT, help="CSV file to write")
    return parser


def _build(args) -> int:
    from .build import BuildFailed, build
    from .parameters import ParameterError, parse_assignment, resolve
    from .validate import ValidationFailed

    try:
        overrides = dict(parse_assignment(a) for a in args.param)
        params = resolve(overrides, args.params)
    except ParameterError as exc:
        _err(f"ketamine-ptsd build: {exc}")
        return EXIT_INVALID
    try:
        report = build(args.data, args.out, params, jobs=args.jobs)
    except ValidationFailed as exc:
        return _report_invalid(exc.errors)
    except BuildFailed as exc:
        _err(f"build failed: {exc}")
        _err("The last good book and results.json were left as they were.")
        return EXIT_FAILED
    for warning in report.warnings:
        _err(f"warning: {warning}")
    return 0


def _validate(args) -> int:
    from .validate import validate_file

    result = validate_file(args.data)
    for warning in result.warnings:
        _err(f"warning: {warning}")
    if not result.ok:
        return _report_invalid(result.errors)
    print(f"{args.data}: valid, {len(result.cohort)} patients, {len(result.warnings)} warning(s)")
    return 0


def _reconstruct(args) -> int:
    from .reconstruct import DEFAULT_SEED, bundled_cohort, write_cohort

    cohort = bundled_cohort(DEFAULT_SEED if args.seed is None else args.seed)
    write_cohort(cohort, args.out)
    print(f"wrote {len(cohort)} synthetic patients to {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"build": _build, "validate": _validate, "reconstruct": _reconstruct}[args.command](args)
    except KeyboardInterrupt:
        _err("interrupted; the last good book and results.json were left as they were.")
        return 130
    except Exception as exc:  # noqa: BLE001 - the user gets one line, never a traceback
        _err(f"ketamine-ptsd {args.command}: {type(exc).__name__}: {exc}")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
