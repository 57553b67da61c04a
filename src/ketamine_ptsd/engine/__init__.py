"""Engine: builds a book of parameterised notebooks (execution, dependency tracking and cache, kernels,
rendering). It knows nothing about PTSD: the project's hooks come from :mod:`ketamine_ptsd.project`.
"""
