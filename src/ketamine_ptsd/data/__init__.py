"""Data: the contract, reading and validating a cohort file, the reference files, and the synthetic and reconstructed cohorts."""
