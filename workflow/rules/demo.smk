# Demo stage: the embedded demo data set (synthetic genome, peaks of every demo track with real
# JASPAR motifs planted at their sites, and the motif truth), generated from config["seed"];
# also a VCF of motif-destroying and control variants, a background VCF of random SNVs (for
# e-values) and a BED of regions for the use steps.
from seq2chrom.demo import DEMO_TRACK_NAMES


rule demo:
    output:
        genome="resources/demo/genome.fa",
        peaks=expand("resources/demo/peaks/{track}.bed.gz", track=DEMO_TRACK_NAMES),
        truth="resources/demo/truth.tsv",
        variants="resources/demo/variants.vcf.gz",
        background="resources/demo/background.vcf.gz",
        regions="resources/demo/regions.bed",
    log:
        "logs/demo/demo.log",
    benchmark:
        "benchmarks/demo/demo.tsv"
    conda:
        "../../envs/demo.yaml"
    params:
        outdir=subpath(output.genome, parent=True),
        seed=config["seed"],
    shell:
        "seq2chrom demo --out-dir {params.outdir:q} --seed {params.seed:q} 2> {log:q}"
