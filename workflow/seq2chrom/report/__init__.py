"""Helpers that turn results into items of the Snakemake HTML report."""
