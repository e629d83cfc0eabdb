# Bundle import (data.source: deepsea_bundle), included instead of data.smk: the published
# DeepSEA training bundle -> results/data/{split}.h5, a data summary, and in the evaluation a
# comparison of each model with the published DeepSEA, DanQ and DanQ-JASPAR per-track AUROCs.
import os

if not config["data"].get("bundle_dir"):
    stop(
        InputError(
            CONFIG_FILE,
            "key data.bundle_dir: empty",
            fix="set it to the folder holding train.mat, valid.mat and test.mat of "
            "deepsea_train_bundle.v0.9",
        )
    )


rule import_bundle:
    input:
        bundle=os.path.join(config["data"]["bundle_dir"], "{split}.mat"),
        tracks=config["data"].get("bundle_targets") or [],
    output:
        "results/data/{split}.h5",
    log:
        "logs/import_bundle/{split}.log",
    benchmark:
        "benchmarks/import_bundle/{split}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    resources:
        mem_mb=2000,
    params:
        bundle_dir=subpath(input.bundle, parent=True),
        tracks=config["data"].get("bundle_targets", ""),
    shell:
        "seq2chrom import-bundle --split {wildcards.split:q} --bundle-dir {params.bundle_dir:q}"
        " --tracks={params.tracks:q} --threads {threads} --out {output:q} 2> {log:q}"


rule bundle_summary:
    input:
        train="results/data/train.h5",
        valid="results/data/valid.h5",
        test="results/data/test.h5",
    output:
        tsv="results/data/summary.tsv",
        html=report(
            "results/data/summary.html",
            caption="../report/bundle_summary.rst",
            category="Data",
        ),
    log:
        "logs/bundle_summary/bundle_summary.log",
    benchmark:
        "benchmarks/bundle_summary/bundle_summary.tsv"
    conda:
        "../../envs/data.yaml"
    shell:
        "seq2chrom bundle-summary --train {input.train:q} --valid {input.valid:q}"
        " --test {input.test:q} --out-table {output.tsv:q} --out-html {output.html:q} 2> {log:q}"


# The comparison scores each published column as its authors did: DeepSEA's against the
# strand-mean AUROC of metrics.tsv, DanQ's and DanQ-JASPAR's against the AUROC over both strands
# as separate samples (the predictions' y_pred_strands, which rule predict writes in bundle mode).
rule published_comparison:
    input:
        metrics="results/eval/{model}/metrics.tsv",
        predictions="results/predictions/{model}/test.h5",
        data="results/data/test.h5",
    output:
        classes=report(
            "results/eval/{model}/published_comparison.tsv",
            caption="../report/published_comparison.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "item": "published AUROC per class (table)"},
        ),
        tracks="results/eval/{model}/published_tracks.tsv",
        html=report(
            "results/eval/{model}/published_comparison.html",
            caption="../report/published_comparison.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "item": "published AUROC comparison"},
        ),
        scatter=report(
            "results/eval/{model}/published_scatter.png",
            caption="../report/published_scatter.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "item": "published AUROC scatter"},
        ),
    log:
        "logs/published_comparison/{model}.log",
    benchmark:
        "benchmarks/published_comparison/{model}.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 2
    resources:
        # both strands' predictions and labels in memory: about 2.5 GB for the 919-track bundle
        mem_mb=8000,
    shell:
        "seq2chrom published-comparison --metrics {input.metrics:q} --model {wildcards.model:q}"
        " --predictions {input.predictions:q} --data {input.data:q} --threads {threads}"
        " --out-classes {output.classes:q} --out-tracks {output.tracks:q}"
        " --out-html {output.html:q}"
        " --out-png {output.scatter:q} 2> {log:q}"
