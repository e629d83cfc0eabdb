# seq2chrom: `snakemake -s path/to/seq2chrom/Snakefile` runs workflow/Snakefile, the workflow
# (the catalog's standard place). A plain `include:` would drop its `rule all` as default target.
workflow.include("workflow/Snakefile", overwrite_default_target=True)
