# Train stage: one model per {model} of config["models"], streaming batches from the split
# files, then strand-averaged predictions for the test split.
#
# Resume layout: results/models/{model}/checkpoint/ is deliberately NOT an output. Snakemake
# deletes a job's declared outputs before running it, so a Slurm requeue or a rerun after a
# kill would otherwise lose the checkpoint; undeclared, it survives and `seq2chrom train`
# resumes from it (a checkpoint written with other settings is discarded). Delete the folder
# to force training from scratch.
import json


rule train:
    input:
        train="results/data/train.h5",
        valid="results/data/valid.h5",
    output:
        model="results/models/{model}/model.keras",
        history=report(
            "results/models/{model}/history.tsv",
            caption="../report/training_history.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "item": "history"},
        ),
        curve=report(
            "results/models/{model}/training_curve.png",
            caption="../report/training_curve.rst",
            category="Training",
            subcategory="{model}",
            labels={"model": "{model}", "item": "training curve"},
        ),
        config="results/models/{model}/config.yaml",
    log:
        "logs/train/{model}.log",
    benchmark:
        "benchmarks/train/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=lambda wc: (
            4000 if config["models"][wc.model].get("preset") == "small" else 32000
        ),
        # Minutes per attempt: a job killed at its time limit is retried with more time.
        runtime=lambda wc, attempt: attempt
        * (60 if config["models"][wc.model].get("preset") == "small" else 2880),
    params:
        model_settings=lambda wc: json.dumps(config["models"][wc.model]),
        train_settings=json.dumps(
            {
                k: v
                for k, v in config["train"].items()
                if k not in ("init_from", "freeze_epochs")
            }
        ),
        seed=config["seed"],
        outdir=subpath(output.model, parent=True),
    shell:
        "seq2chrom train --model {wildcards.model} --train {input.train} --valid {input.valid}"
        " --model-settings {params.model_settings:q} --train-settings {params.train_settings:q}"
        " --seed {params.seed} --outdir {params.outdir} 2> {log}"


rule predict:
    input:
        model="results/models/{model}/model.keras",
        data="results/data/test.h5",
    output:
        predictions="results/predictions/{model}/test.h5",
    log:
        "logs/predict/{model}.log",
    benchmark:
        "benchmarks/predict/{model}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 8
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wc, attempt: 240 * attempt,
    shell:
        "seq2chrom predict --model {input.model} --data {input.data}"
        " --out {output.predictions} 2> {log}"
