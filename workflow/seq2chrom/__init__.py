"""seq2chrom: predict chromatin features from DNA sequence (DeepSEA, DanQ) with Snakemake."""

__version__ = "0.1.0"
