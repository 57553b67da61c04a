"""Re-analysis of a real-world cohort treated with intravenous ketamine for treatment-resistant PTSD.

The package holds everything the report's notebooks compute: the data contract and its validation,
the statistics, the synthetic reconstruction of the bundled cohort, and the build that turns a cohort
file into the published book. Notebooks call it; they do not compute on their own.
"""

__version__ = "0.1.0"
