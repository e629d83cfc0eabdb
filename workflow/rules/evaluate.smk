# Evaluate stage: exact per-track AUROC/AUPRC on the test split, per-class summaries and
# curves for each model, and a per-track comparison when several models ran.


rule evaluate:
    input:
        predictions="results/predictions/{model}/test.h5",
        data="results/data/test.h5",
    output:
        metrics="results/eval/{model}/metrics.tsv",
        metrics_html=report(
            "results/eval/{model}/metrics.html",
            caption="../report/eval_metrics.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "item": "per-track metrics"},
        ),
        summary="results/eval/{model}/summary.tsv",
        summary_html=report(
            "results/eval/{model}/summary.html",
            caption="../report/eval_summary.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "item": "summary per assay class"},
        ),
        curves=report(
            "results/eval/{model}/curves.png",
            caption="../report/eval_curves.rst",
            category="Evaluation",
            subcategory="{model}",
            labels={"model": "{model}", "item": "ROC and precision-recall curves"},
        ),
    log:
        "logs/evaluate/{model}.log",
    benchmark:
        "benchmarks/evaluate/{model}.tsv"
    conda:
        "../../envs/evaluate.yaml"
    threads: 2
    params:
        min_positives=config["evaluate"]["min_positives"],
        outdir=subpath(output.metrics, parent=True),
    shell:
        "seq2chrom evaluate --predictions {input.predictions:q} --data {input.data:q}"
        " --min-positives {params.min_positives:q} --model {wildcards.model:q}"
        " --threads {threads} --out-dir {params.outdir:q} 2> {log:q}"


rule compare_models:
    input:
        metrics=expand("results/eval/{model}/metrics.tsv", model=MODELS),
    output:
        wins="results/eval/comparison/wins.tsv",
        wins_html=report(
            "results/eval/comparison/wins.html",
            caption="../report/compare_wins.rst",
            category="Model comparison",
            labels={"item": "tracks won per model"},
        ),
        auroc_scatter=report(
            "results/eval/comparison/auroc_scatter.png",
            caption="../report/compare_scatter.rst",
            category="Model comparison",
            labels={"item": "per-track AUROC scatter"},
        ),
        auprc_scatter=report(
            "results/eval/comparison/auprc_scatter.png",
            caption="../report/compare_scatter.rst",
            category="Model comparison",
            labels={"item": "per-track AUPRC scatter"},
        ),
    log:
        "logs/compare_models/comparison.log",
    benchmark:
        "benchmarks/compare_models/comparison.tsv"
    conda:
        "../../envs/evaluate.yaml"
    params:
        models=MODELS,
        outdir=subpath(output.wins, parent=True),
    shell:
        "seq2chrom compare-models --metrics {input.metrics:q} --models {params.models:q}"
        " --out-dir {params.outdir:q} 2> {log:q}"
