"""Mutation score of the definitions and statistics (``make mutation``; a benchmark, not run in CI).

Copies the project to a scratch directory, configures mutmut there (so the repository's pyproject is left as
it is), mutates the chosen modules of ``analysis/`` and uses the fast tier's tests of those modules as the
oracle (mutmut runs, for each mutant, only the tests that reach the mutated function). Prints each module's
score, killed / (killed + survived), the surviving mutants, and the time per mutant.

    python benchmarks/mutation.py                      # every module of MODULES
    python benchmarks/mutation.py bias.py durability.py
    python benchmarks/mutation.py limitations/missing.py   # a module of a sub-package
    python benchmarks/mutation.py limitations/             # each module of a sub-package
    python benchmarks/mutation.py bias.py --only 'ketamine_ptsd.analysis.bias.x_bias_analysis__mutmut_*'
    python benchmarks/mutation.py reconstruction/many.py --spawns   # the oracle adds the tests that start processes

The machine is shared: one worker unless ``--max-children`` says otherwise. Survivors judged equivalent are
listed, with the reason, in tests/README.md ("Mutation score").
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = "src/ketamine_ptsd/analysis"

#: The test files of the limitations/ and reconstruction/ sub-packages, which test their modules together
#: (the chapter summary and the figures call several modules at once).
_LIMITATIONS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_limitation*.py"))
_RECONSTRUCTION = [
    "tests/test_reconstruct.py",
    "tests/test_reconstruct_many.py",
    "tests/test_reconstruct_values.py",
    "tests/test_memo.py",
]

#: Each module of analysis/ with the fast-tier test files that test it (the oracle). A module of a
#: sub-package is named by its path under analysis/ (``limitations/missing.py``).
MODULES = {
    "outcomes.py": ["tests/test_outcomes.py", "tests/test_stats.py"],
    "effects.py": ["tests/test_effects.py", "tests/test_stats.py"],
    "privacy.py": ["tests/test_privacy_properties.py", "tests/test_privacy.py", "tests/test_stats.py"],
    "stats.py": [
        "tests/test_stats.py",
        "tests/test_stats_edges.py",
        "tests/test_effects.py",
        "tests/test_privacy.py",
        "tests/test_claims.py",
    ],
    "bias.py": ["tests/test_bias.py"],
    "durability.py": ["tests/test_durability.py", "tests/test_durability_edges.py", "tests/test_durability_km.py"],
    "multiverse.py": ["tests/test_multiverse.py", "tests/test_multiverse_edges.py", "tests/test_effects.py"],
    "specification_curve.py": ["tests/test_multiverse.py"],
    "claims.py": ["tests/test_claims.py", "tests/test_claims_edges.py"],
    "consistency.py": ["tests/test_consistency.py", "tests/test_consistency_text.py", "tests/test_claims.py"],
    "summary_effects.py": ["tests/test_summary_effects.py", "tests/test_claims.py"],
    "describe.py": [
        "tests/test_describe.py",
        "tests/test_privacy.py",
        "tests/test_claims.py",
        "tests/test_reconstruct_many.py",
    ],
    "adverse_events.py": ["tests/test_adverse_events.py", "tests/test_durability.py", "tests/test_claims.py"],
    "values.py": ["tests/test_values.py", "tests/test_claims.py"],
    "limitations/_common.py": _LIMITATIONS,
    "limitations/benchmarks.py": _LIMITATIONS,
    "limitations/followup.py": _LIMITATIONS,
    "limitations/missing.py": [*_LIMITATIONS, "tests/test_multiverse.py"],
    "limitations/multiplicity.py": _LIMITATIONS,
    "limitations/regression.py": _LIMITATIONS,
    "limitations/representativeness.py": _LIMITATIONS,
    "limitations/safety.py": _LIMITATIONS,
    "reconstruction/targets.py": _RECONSTRUCTION,
    "reconstruction/bundled.py": _RECONSTRUCTION,
    "reconstruction/many.py": _RECONSTRUCTION,
    "reconstruction/spread.py": _RECONSTRUCTION,
}

#: What the scratch copy holds: the package, its tests, and the data and book sources some unit tests read.
COPIED = ("src", "tests", "data", "notebooks", "book", "_toc.yml", "_config.yml", "pyproject.toml")

#: mutmut's result words that count as killed (a timeout is a mutant the tests did not let pass).
KILLED = ("killed", "timeout")


def configure(work: Path, modules: list[str], spawns: bool = False) -> None:
    """Append mutmut's configuration to the scratch copy's pyproject: only ``modules`` are mutated; with
    ``spawns`` the oracle also runs the tests that start processes (the parallel paths)."""
    tests = sorted({t for m in modules for t in MODULES[m]})
    left_out = " or ".join(["pipeline", "browser", "scale", *([] if spawns else ["spawns"])])
    with (work / "pyproject.toml").open("a") as config:
        config.write(
            "\n[tool.mutmut]\n"
            # The whole package goes to mutmut, so the mutated copy is importable as a package.
            f"source_paths = {['src/ketamine_ptsd']!r}\n"
            f"only_mutate = {[f'{ANALYSIS}/{m}' for m in modules]!r}\n"
            f"pytest_add_cli_args_test_selection = {tests!r}\n"
            f"pytest_add_cli_args = ['-p', 'no:cacheprovider', '-m', 'not ({left_out})']\n"
            f"also_copy = {[n for n in COPIED if n not in ('src', 'tests', 'pyproject.toml')]!r}\n"
        )


def module_of(mutant: str) -> str:
    """``ketamine_ptsd.analysis.bias.x_draw_biases__mutmut_3`` -> ``bias.py``."""
    dotted = mutant.split("ketamine_ptsd.analysis.", 1)[1].rsplit(".", 1)[0]
    return dotted.replace(".", "/") + ".py"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--only", nargs="+", default=[], help="mutant-name globs to run (default: all)")
    parser.add_argument("--max-children", type=int, default=1)
    parser.add_argument(
        "--spawns", action="store_true", help="add the tests that start processes to the oracle (slower)"
    )
    args = parser.parse_args()
    # A sub-package's folder (``limitations/``) stands for each of its modules.
    modules = [m for arg in args.modules or list(MODULES) for m in ([arg] if arg in MODULES else _under(arg))]
    if unknown := set(modules) - set(MODULES):
        parser.error(f"not in MODULES: {', '.join(sorted(unknown))}")

    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    for name in COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "mutants"))
        else:
            shutil.copy(ROOT / name, work / name)
    configure(work, modules, args.spawns)
    # The mutated package must shadow the editable install of the repository's own src/.
    env = {**os.environ, "KETAMINE_PTSD_FAST_TIER": "1", "PYTHONPATH": str(work / "mutants" / "src")}
    # Python caches a sys.path entry that does not exist yet as unimportable: create it before mutmut runs.
    (work / "mutants" / "src").mkdir(parents=True)
    mutmut = [str(Path(sys.executable).parent / "mutmut")]
    start = time.monotonic()
    # mutmut redraws a progress line per mutant: kept in a file, not the terminal.
    with (work / "mutmut-run.log").open("w") as log:
        run = [*mutmut, "run", "--max-children", str(args.max_children), *args.only]
        subprocess.run(run, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True)
    status = {
        name: word
        for name, word in re.findall(r"^\s*(ketamine_ptsd\.\S+):\s*(.+?)\s*$", results.stdout, flags=re.MULTILINE)
        if not args.only or any(re.fullmatch(_glob(glob), name) for glob in args.only)
    }
    by_module: dict[str, Counter] = defaultdict(Counter)
    for name, word in status.items():
        by_module[module_of(name)][word] += 1
    print(f"\n{'module':<34} killed/(killed+survived)   other")
    for module in sorted(by_module):
        counts = by_module[module]
        killed, survived = sum(counts[k] for k in KILLED), counts["survived"]
        other = {k: v for k, v in counts.items() if k not in (*KILLED, "survived")}
        print(
            f"{module:<34} {killed:>5}/{killed + survived:<5} {killed / max(killed + survived, 1):7.1%}   {other or ''}"
        )
    survivors = sorted(name for name, word in status.items() if word == "survived")
    untested = sorted(name for name, word in status.items() if word == "no tests")
    print(f"\nsurvived ({len(survivors)}):", *survivors, sep="\n  ")
    print(f"\nno test reaches the function ({len(untested)}):", *untested, sep="\n  ")
    print(f"\n{len(status)} mutants in {seconds:.0f} s ({seconds / max(len(status), 1):.2f} s a mutant, with setup)")
    print(f"mutants, mutmut's log and state in {work} (mutmut show <name> there, with PYTHONPATH={env['PYTHONPATH']})")
    return 0


def _under(folder: str) -> list[str]:
    """The modules of MODULES in ``folder`` (``limitations/``); ``[folder]`` itself if none, to be refused."""
    return [m for m in MODULES if m.startswith(folder.rstrip("/") + "/")] or [folder]


def _glob(pattern: str) -> str:
    """A mutant-name glob (``*`` only, as mutmut's) as a regular expression."""
    return ".*".join(map(re.escape, pattern.split("*")))


if __name__ == "__main__":
    sys.exit(main())
