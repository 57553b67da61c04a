"""Presentation: glued results, tables, text and figures the notebooks show."""
