"""How fast are cohorts reconstructed from the published aggregates?

Target: 1,000 cohorts of 117 patients, each meeting every published constraint, in under 60 s on a
2-core machine. Run with ``.venv/bin/python benchmarks/reconstruct.py [--n-cohorts K] [--jobs J]``.
The timed part is :func:`ketamine_ptsd.analysis.reconstruction.reconstruct_many`; the per-cohort statistics are
timed separately, and every cohort is checked against the constraints (untimed) so that a fast but wrong
search cannot pass.
"""

from __future__ import annotations

import argparse
import sys
import time

from ketamine_ptsd.analysis import reconstruction
from ketamine_ptsd.data import references

TARGET_SECONDS = 60.0
TARGET_COHORTS = 1000


def constraint_failures(rec: reconstruction.Reconstructions, t: reconstruction.Targets) -> int:
    """Cohorts breaking any published constraint, by the same check the chapter applies."""
    published = references.load_claims()
    return sum(
        not reconstruction.meets_constraints(pre, post, therapy, t, published)
        for pre, post, therapy in zip(rec.pcl5_pre, rec.pcl5_post, rec.psychotherapy)
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cohorts", type=int, default=TARGET_COHORTS)
    parser.add_argument("--seed", type=int, default=reconstruction.DEFAULT_SEED)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    rec = reconstruction.reconstruct_many(args.n_cohorts, args.seed, jobs=args.jobs)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    reconstruction.reconstruction_statistics(rec)
    stats_seconds = time.perf_counter() - start
    failures = constraint_failures(rec, reconstruction.Targets())

    print(f"cohorts: {args.n_cohorts} of {rec.pcl5_pre.shape[1]} patients, seed {args.seed}, jobs {args.jobs}")
    print(
        f"reconstruction: {seconds:.2f} s total, {args.n_cohorts / seconds:.1f} cohorts/s, "
        f"{rec.attempts.sum() - len(rec)} restarted draws"
    )
    print(f"per-cohort statistics: {stats_seconds:.2f} s")
    print(f"cohorts breaking a constraint: {failures}")
    projected = seconds * TARGET_COHORTS / args.n_cohorts
    met = projected < TARGET_SECONDS and failures == 0
    print(
        f"target ({TARGET_COHORTS} cohorts under {TARGET_SECONDS:.0f} s): "
        f"{'met' if met else 'NOT met'} ({projected:.1f} s for {TARGET_COHORTS})"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
