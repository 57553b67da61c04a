"""Mutation score of the definitions and statistics (``make mutation``; a benchmark, not run in CI).

Copies the project to a scratch directory, configures mutmut there (so the repository's pyproject is left as
it is), mutates the modules that hold definitions and statistics, and uses the fast tier's tests of those
modules as the oracle. Prints mutmut's per-mutant results and the score: killed / (killed + survived).
The machine is shared, hence the restricted modules and tests; widen MODULES and TESTS to measure more.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANALYSIS = "src/ketamine_ptsd/analysis"
MODULES = ["outcomes.py", "effects.py", "privacy.py"]
TESTS = [
    "tests/test_outcomes.py",
    "tests/test_effects.py",
    "tests/test_privacy_properties.py",
    "tests/test_stats.py",
]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="mutation-"))
    for name in ("src", "tests", "data"):
        shutil.copytree(ROOT / name, work / name, ignore=shutil.ignore_patterns("__pycache__", "mutants"))
    for name in ("pyproject.toml", "conftest.py"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, work / name)
    # The whole package goes to mutmut (so the mutated copy is importable as a package); all but MODULES is
    # left unmutated.
    targets = {f"{ANALYSIS}/{m}" for m in MODULES}
    untouched = sorted(
        str(p.relative_to(work))
        for p in (work / "src/ketamine_ptsd").rglob("*.py")
        if str(p.relative_to(work)) not in targets
    )
    # mutmut reads [tool.mutmut] from the copy's pyproject: the repository's own is untouched.
    with (work / "pyproject.toml").open("a") as config:
        config.write(
            "\n[tool.mutmut]\n"
            f"source_paths = {['src/ketamine_ptsd']!r}\n"
            f"do_not_mutate = {untouched!r}\n"
            f"pytest_add_cli_args_test_selection = {TESTS!r}\n"
            "pytest_add_cli_args = ['-p', 'no:cacheprovider', '-m', 'not (pipeline or browser or spawns or scale)']\n"
            "also_copy = ['data/']\n"
        )
    # The mutated package must shadow the editable install of the repository's own src/.
    env = {**os.environ, "KETAMINE_PTSD_FAST_TIER": "1", "PYTHONPATH": str(work / "mutants" / "src")}
    # Python caches a sys.path entry that does not exist yet as unimportable: create it before mutmut runs.
    (work / "mutants" / "src").mkdir(parents=True)
    mutmut = [str(Path(sys.executable).parent / "mutmut")]
    subprocess.run([*mutmut, "run", "--max-children", "2"], cwd=work, env=env, check=False)
    results = subprocess.run([*mutmut, "results", "--all", "true"], cwd=work, env=env, capture_output=True, text=True)
    print(results.stdout)
    status = Counter(line.rsplit(":", 1)[-1].strip() for line in results.stdout.splitlines() if ":" in line)
    killed, survived, total = status["killed"], status["survived"], sum(status.values())
    print(dict(status))
    print(f"killed / (killed + survived): {killed}/{killed + survived} = {killed / max(killed + survived, 1):.1%}")
    print(f"killed / all mutants (untested ones count as survivors): {killed}/{total} = {killed / max(total, 1):.1%}")
    print(f"mutants and mutmut's state in {work} (mutmut show <name> there, with the same PYTHONPATH)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
