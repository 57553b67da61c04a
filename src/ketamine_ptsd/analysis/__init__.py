"""Analysis: the statistics and the small-cell rule. Imports nothing from IPython, myst-nb or the presentation layer."""
