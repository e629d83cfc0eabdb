# seq2chrom: predict chromatin features from DNA sequence with DeepSEA and DanQ.
# Reference genome -> 200 bp bins -> labels per track -> one-hot tensors -> models
# -> evaluation -> first-layer motifs -> HTML report.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"


if config.get("data", {}).get("source", "genome") == "deepsea_bundle":

    include: "workflow/rules/bundle.smk"

else:

    include: "workflow/rules/data.smk"


include: "workflow/rules/train.smk"


if FINETUNE_MODEL:

    include: "workflow/rules/finetune.smk"


include: "workflow/rules/evaluate.smk"
include: "workflow/rules/motifs.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
