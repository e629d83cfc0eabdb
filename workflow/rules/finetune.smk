# Fine-tuning comparison (config finetune_comparison): is fine-tuning an old model to new
# tracks as good as retraining from scratch, in a fraction of the epochs? A base model is
# trained without the held-out tracks (the "old" model), then fine-tuned on all tracks with
# --init-from (output layer widened, weights of known tracks copied by name); its per-track
# validation AUROC is compared with the from-scratch model results/models/{model}.
import json


rule finetune_base:
    input:
        train="results/data/train.h5",
        valid="results/data/valid.h5",
    output:
        model="results/finetune/{model}/base/model.keras",
        history="results/finetune/{model}/base/history.tsv",
        curve="results/finetune/{model}/base/training_curve.png",
        config="results/finetune/{model}/base/config.yaml",
    log:
        "logs/finetune_base/{model}.log",
    benchmark:
        "benchmarks/finetune_base/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        model_settings=lambda wc: json.dumps(config["models"][wc.model]),
        train_settings=train_settings(),
        holdout=",".join(FINETUNE.get("holdout", [])),
        seed=config["seed"],
        outdir=subpath(output.model, parent=True),
    shell:
        "seq2chrom train --model {wildcards.model} --train {input.train} --valid {input.valid}"
        " --model-settings {params.model_settings:q} --train-settings {params.train_settings:q}"
        " --exclude-tracks {params.holdout:q} --seed {params.seed} --outdir {params.outdir}"
        " 2> {log}"


rule finetune_tuned:
    input:
        train="results/data/train.h5",
        valid="results/data/valid.h5",
        base="results/finetune/{model}/base/model.keras",
        base_config="results/finetune/{model}/base/config.yaml",
    output:
        model="results/finetune/{model}/tuned/model.keras",
        history="results/finetune/{model}/tuned/history.tsv",
        curve="results/finetune/{model}/tuned/training_curve.png",
        config="results/finetune/{model}/tuned/config.yaml",
    log:
        "logs/finetune_tuned/{model}.log",
    benchmark:
        "benchmarks/finetune_tuned/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=train_mem_mb,
        runtime=train_runtime,
    params:
        model_settings=lambda wc: json.dumps(config["models"][wc.model]),
        train_settings=finetune_settings(),
        freeze_epochs=FINETUNE.get("freeze_epochs", 0),
        init_from=subpath(input.base, parent=True),
        seed=config["seed"],
        outdir=subpath(output.model, parent=True),
    shell:
        "seq2chrom train --model {wildcards.model} --train {input.train} --valid {input.valid}"
        " --model-settings {params.model_settings:q} --train-settings {params.train_settings:q}"
        " --init-from {params.init_from:q} --freeze-epochs {params.freeze_epochs}"
        " --seed {params.seed} --outdir {params.outdir} 2> {log}"


rule finetune_comparison:
    input:
        valid="results/data/valid.h5",
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
        scratch=multiext(
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
            labels={"model": "{model}", "item": "validation AUROC per track"},
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
        scratch=lambda wc, input: Path(input.scratch[0]).parent,
        outdir=subpath(output.table, parent=True),
    shell:
        "seq2chrom compare-finetune --valid {input.valid} --base {params.base}"
        " --tuned {params.tuned} --scratch {params.scratch}"
        " --min-positives {params.min_positives} --outdir {params.outdir} 2> {log}"
