"""The reference files: what public sources say about the study and the literature around it.

``data/published_claims.yml`` (every number or statement public sources make about the study, with its
source) and ``data/benchmarks.yml`` (published effects, response rates and samples the limitations are
measured against). Each loader checks its file's fields and says what is wrong, by entry, before any
analysis uses it; the analyses take the loaded lists as arguments and read no file themselves.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ketamine_ptsd.paths import DATA

#: The repository's reference files.
CLAIMS_PATH = DATA / "published_claims.yml"
BENCHMARKS_PATH = DATA / "benchmarks.yml"

# How a recomputed value is compared with each kind of claim.
KINDS = ("number", "percent", "at_least", "more_than", "at_most", "less_than", "range", "verdict", "qualitative")

_REQUIRED = ("id", "version", "source", "source_detail", "value", "decimals", "kind", "result_key", "meaning")
_BOUNDS = {
    "at_least": ("low",),
    "more_than": ("low",),
    "at_most": ("high",),
    "less_than": ("high",),
    "range": ("low", "high"),
}


def _read(path: str | Path | None) -> dict:
    with open(CLAIMS_PATH if path is None else Path(path), encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list):
        raise ValueError(f"{path or CLAIMS_PATH}: expected a mapping with a 'claims' list")
    return data


def _problems(claim: dict, index: int) -> list[str]:
    """What is wrong with one claim entry (empty list if nothing)."""
    name = claim.get("id", f"entry {index + 1}")
    out = [f"{name}: missing field '{field}'" for field in _REQUIRED if field not in claim]
    kind = claim.get("kind")
    if kind not in KINDS:
        out.append(f"{name}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if kind in ("number", "percent"):
        if isinstance(claim.get("value"), bool) or not isinstance(claim.get("value"), (int, float)):
            out.append(f"{name}: a {kind} claim needs a numeric value")
        if not isinstance(claim.get("decimals"), int):
            out.append(f"{name}: a {kind} claim needs an integer 'decimals'")
    for bound in _BOUNDS.get(kind, ()):
        if not isinstance(claim.get(bound), (int, float)):
            out.append(f"{name}: a {kind} claim needs a numeric '{bound}'")
    if kind == "verdict" and not isinstance(claim.get("expected"), str):
        out.append(f"{name}: a verdict claim needs the verdict it expects ('expected')")
    if kind == "qualitative" and claim.get("result_key") is not None:
        out.append(f"{name}: a qualitative claim cannot have a result_key")
    if claim.get("result_key") is None and not claim.get("why_not"):
        out.append(f"{name}: result_key is null, so 'why_not' must say why")
    return out


def load_claims(path: str | Path | None = None) -> list[dict]:
    """Load and validate the published claims.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; default ``data/published_claims.yml`` in the repository.

    Returns
    -------
    list of dict
        One dict per claim, in file order.

    Raises
    ------
    ValueError
        Listing every malformed entry, or duplicate ids.
    """
    claims = _read(path)["claims"]
    problems = [p for i, claim in enumerate(claims) for p in _problems(claim, i)]
    ids = [claim.get("id") for claim in claims]
    problems += [f"{i}: duplicate id" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise ValueError("invalid published claims:\n" + "\n".join(problems))
    return claims


def load_conflicts(path: str | Path | None = None) -> list[dict]:
    """The ``conflicts`` of the claims file: pairs of claims (``between``) from sources that disagree, with
    the ``issue`` in words.

    Raises
    ------
    ValueError
        When an entry names a claim id the file does not hold.
    """
    data = _read(path)
    ids = {claim.get("id") for claim in data["claims"]}
    entries = data.get("conflicts") or []
    for entry in entries:
        unknown = [i for i in entry["between"] if i not in ids]
        if unknown:
            raise ValueError(f"conflict {entry['id']}: unknown claim id {', '.join(unknown)}")
    return entries


BENCHMARK_FIELDS = (
    "id",
    "label",
    "source",
    "instrument",
    "design",
    "arm",
    "arm_kind",
    "measure",
    "value",
    "ci_low",
    "ci_high",
    "range_low",
    "range_high",
    "n",
    "n_arm",
    "derived",
    "note",
)
INSTRUMENTS = ("PCL-5", "CAPS-5", "mixed", "not stated")
ARM_KINDS = ("active", "control", "untreated", "between arms", None)


def load_benchmarks(path: str | Path | None = None) -> list[dict]:
    """Read the published benchmarks and check their fields.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; default ``data/benchmarks.yml`` of the repository.

    Returns
    -------
    list of dict
        One dict per entry, with the fields listed in :data:`BENCHMARK_FIELDS`.

    Raises
    ------
    ValueError
        When an entry lacks a field, repeats an id, or names an unknown instrument or arm kind.
    """
    path = Path(path) if path is not None else BENCHMARKS_PATH
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of benchmark entries")
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{path}: entry {i + 1} ({entry.get('id', '?') if isinstance(entry, dict) else '?'})"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: not a mapping")
        missing = [f for f in BENCHMARK_FIELDS if f not in entry]
        if missing:
            raise ValueError(f"{where}: missing fields {', '.join(missing)}")
        if entry["id"] in seen:
            raise ValueError(f"{where}: duplicate id")
        seen.add(entry["id"])
        if entry["instrument"] not in INSTRUMENTS:
            raise ValueError(f"{where}: instrument must be one of {INSTRUMENTS}, got {entry['instrument']!r}")
        if entry["arm_kind"] not in ARM_KINDS:
            raise ValueError(f"{where}: arm_kind must be one of {ARM_KINDS}, got {entry['arm_kind']!r}")
    return entries
