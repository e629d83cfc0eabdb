# Demo stage: the embedded demo data set (synthetic genome, peaks of every demo track with real
# JASPAR motifs planted at their sites, and the motif truth), generated from config["seed"].
from seq2chrom.demo import DEMO_TRACK_NAMES


rule demo:
    output:
        genome="resources/demo/genome.fa",
        peaks=expand("resources/demo/peaks/{track}.bed.gz", track=DEMO_TRACK_NAMES),
        truth="resources/demo/truth.tsv",
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
        "seq2chrom demo --outdir {params.outdir} --seed {params.seed} 2> {log}"
