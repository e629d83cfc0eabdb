# Fine-tuning comparison (config finetune_comparison): is fine-tuning an old model to new
# tracks as good as retraining from scratch, in a fraction of the epochs? A base model is
# trained without the held-out tracks (the "old" model), then fine-tuned on all tracks with
# --init-from (output layer widened, weights of known tracks copied by name); its per-track
# test AUROC is compared with the from-scratch model results/models/{model}. The test split
# scores them because the validation split chose each run's best epoch.
#
# The base model and the fine-tune are trained by rule train (train.smk) with other inputs,
# outputs and parameters; the profiles give all three the same GPU resources by name.


use rule train as finetune_base with:
    input:
        gpu_checked=gpu_checked("finetune_base"),
        train="results/data/train.h5",
        valid="results/data/valid.h5",
    output:
        multiext(
            "results/finetune/{model}/base/",
            model="model.keras",
            history="history.tsv",
            curve="training_curve.png",
            config="config.yaml",
        ),
    log:
        "logs/finetune_base/{model}.log",
    benchmark:
        "benchmarks/finetune_base/{model}.tsv"
    params:
        init_from="",
        freeze_epochs=0,
        exclude_tracks=",".join(FINETUNE.get("holdout", [])),


use rule train as finetune_tuned with:
    input:
        gpu_checked=gpu_checked("finetune_tuned"),
        train="results/data/train.h5",
        valid="results/data/valid.h5",
        init=multiext("results/finetune/{model}/base/", "model.keras", "config.yaml"),
    output:
        multiext(
            "results/finetune/{model}/tuned/",
            model="model.keras",
            history="history.tsv",
            curve="training_curve.png",
            config="config.yaml",
        ),
    log:
        "logs/finetune_tuned/{model}.log",
    benchmark:
        "benchmarks/finetune_tuned/{model}.tsv"
    params:
        train_settings=lambda wc: finetune_settings(wc.model),
        init_from=lambda wc, input: Path(input.init[0]).parent,
        freeze_epochs=FINETUNE.get("freeze_epochs", 0),


rule finetune_comparison:
    input:
        gpu_checked=gpu_checked("finetune_comparison"),
        data="results/data/test.h5",
        base=multiext(
            "results/finetune/{model}/base/",
            "model.keras",
            "config.yaml",
            "history.tsv",
        ),
        tuned=multiext(
            "results/finetune/{model}/tuned/",
            "model.keras",
            "config.yaml",
            "history.tsv",
        ),
        from_scratch=multiext(
            "results/models/{model}/", "model.keras", "config.yaml", "history.tsv"
        ),
    output:
        table="results/finetune/{model}/comparison.tsv",
        table_html=report(
            "results/finetune/{model}/comparison.html",
            caption="../report/finetune_comparison.rst",
            category="Fine-tuning",
            subcategory="{model}",
            labels={"model": "{model}", "item": "fine-tuned vs from scratch"},
        ),
        per_track="results/finetune/{model}/per_track.tsv",
        per_track_html=report(
            "results/finetune/{model}/per_track.html",
            caption="../report/finetune_per_track.rst",
            category="Fine-tuning",
            subcategory="{model}",
            labels={"model": "{model}", "item": "test AUROC per track"},
        ),
        figure=report(
            "results/finetune/{model}/comparison.png",
            caption="../report/finetune_figure.rst",
            category="Fine-tuning",
            subcategory="{model}",
            labels={"model": "{model}", "item": "AUROC per epoch and per track"},
        ),
    log:
        "logs/finetune_comparison/{model}.log",
    benchmark:
        "benchmarks/finetune_comparison/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wc, attempt: 60 * attempt,
    params:
        min_positives=config["evaluate"]["min_positives"],
        base=lambda wc, input: Path(input.base[0]).parent,
        tuned=lambda wc, input: Path(input.tuned[0]).parent,
        from_scratch=lambda wc, input: Path(input.from_scratch[0]).parent,
        out_dir=subpath(output.table, parent=True),
    shell:
        "seq2chrom compare-finetune --data {input.data:q} --base {params.base:q}"
        " --tuned {params.tuned:q} --from-scratch {params.from_scratch:q}"
        " --min-positives {params.min_positives:q} --out-dir {params.out_dir:q} 2> {log:q}"
