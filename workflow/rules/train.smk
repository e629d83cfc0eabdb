# Train stage: one model per {model} of config["models"], streaming batches from the split
# files, then strand-averaged predictions for the test split (on the DeepSEA bundle also each
# strand's own, y_pred_strands).
#
# Resume layout: results/models/{model}/checkpoint/ is deliberately NOT an output. Snakemake
# deletes a job's declared outputs before running it, so a Slurm requeue or a rerun after a
# kill would otherwise lose the checkpoint; undeclared, it survives and `seq2chrom train`
# resumes from it (a checkpoint written with other settings is discarded). Delete the folder
# to force training from scratch.
#
# Fine-tuning: with train.init_from set, every model starts from the trained model in that
# folder ({model} in it is replaced by the model name); its model.keras and config.yaml are
# inputs, so retraining it reruns the fine-tune.
#
# Each model trains with the train section, any key of it replaced by the model's own
# models.{model}.train (config.model_train): its settings are that job's params alone, so
# changing one model's schedule reruns that model only.
#
# The fine-tuning comparison's two trainings (finetune.smk) are this rule with other inputs,
# outputs and parameters (`use rule train as ...`), so all three share one command and one set
# of resources.
import json


rule train:
    input:
        gpu_checked=gpu_checked("train"),
        train="results/data/train.h5",
        valid="results/data/valid.h5",
        init=init_from_inputs,
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
        mem_mb=preset_resource("train", "mem_mb"),
        runtime=preset_resource("train", "runtime"),
        # node-local folder the job copies the split files to; a profile sets it together with
        # the request for that disk (profiles/biowulf: /lscratch/$SLURM_JOB_ID)
        scratch="",
    params:
        model_settings=lambda wc: json.dumps(model_builder_settings(config, wc.model)),
        train_settings=lambda wc: train_settings(wc.model),
        init_from=lambda wc: init_from_dir(wc.model),
        freeze_epochs=lambda wc: model_train(config, wc.model).get("freeze_epochs", 0),
        exclude_tracks="",
        seed=config["seed"],
        out_dir=subpath(output.model, parent=True),
    shell:
        "seq2chrom train --model {wildcards.model:q} --train {input.train:q}"
        " --valid {input.valid:q}"
        " --model-settings {params.model_settings:q} --train-settings {params.train_settings:q}"
        " --init-from={params.init_from:q} --freeze-epochs {params.freeze_epochs:q}"
        " --exclude-tracks={params.exclude_tracks:q} --seed {params.seed:q}"
        " --scratch={resources.scratch:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule predict:
    input:
        gpu_checked=gpu_checked("predict"),
        model="results/models/{model}/model.keras",
        model_config="results/models/{model}/config.yaml",
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
    params:
        device=config["train"]["device"],
        # each strand's own predictions too, for the bundle's per-strand comparison with DanQ
        strands="each" if DATA_SOURCE == "deepsea_bundle" else "mean",
    shell:
        "seq2chrom predict --model {input.model:q} --data {input.data:q}"
        " --device {params.device:q} --strands {params.strands:q}"
        " --out {output.predictions:q} 2> {log:q}"
