"""What a reviewer needs to rebuild the book: data checksum, parameters, package versions, commit."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata

#: Packages whose versions can change a published number.
PACKAGES = (
    "ketamine-ptsd",
    "numpy",
    "scipy",
    "pandas",
    "pingouin",
    "pandera",
    "matplotlib",
    "seaborn",
    "papermill",
    "jupyter-book",
    "myst-nb",
    "sphinx",
)


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def collect(data_sha256: str, git_commit: str, parameters: dict) -> dict:
    """The provenance keys of ``results.json``."""
    return {
        "data_sha256": data_sha256,
        "git_commit": git_commit or "unknown (not built from a git checkout)",
        "parameters": parameters,
        "build_time": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "python_version": platform.python_version(),
        "package_versions": package_versions(),
    }


#: How a parameter left unset (null) reads in the table; its reason says what stands in for it.
UNSET = "not set"


def parameter_table(parameters: dict):
    import pandas as pd

    from ketamine_ptsd.parameters import SPEC

    def shown(value) -> str:
        return UNSET if value is None else str(value)

    return pd.DataFrame(
        [
            (name, shown(value), shown(SPEC[name][0]), SPEC[name][1])
            for name, value in parameters.items()
            if name in SPEC
        ],
        columns=["parameter", "value", "default", "why"],
    )


def package_table(versions: dict):
    import pandas as pd

    return pd.DataFrame(list(versions.items()), columns=["package", "version"])
