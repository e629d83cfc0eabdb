# Using the trained models: variant effects from VCFs, prediction tracks for a genome browser,
# in-silico mutagenesis. Each part is off unless its config section is filled in.
#
# Inputs:  results/models/{model}/model.keras (+ config.yaml), the genome, config["variants"]
#          ["vcfs"] and ["background"] (path or http(s) URL), config["prediction_tracks"]
#          ["regions"] (BED), results/predictions/{model}/test.h5 (best test sequences for
#          mutagenesis).
# Outputs: results/variants/{model}/{name}.h5, .skipped.tsv, .top.tsv, .tsv.gz, .vcf.gz (+ .tbi),
#          .top.html, .png (the background: results/variants/{model}/background.*); with
#          variants.shard_size, results/variant_shards/{name}/ and
#          results/variants/{model}/{name}.shards/ on the way; results/tracks/{model}/{track}.bw;
#          results/mutagenesis/{model}/regions.bed and windows/ (mutagenesis.h5, regions.tsv,
#          one PNG per window).


include: "variants_common.smk"


VARIANT_OUTPUTS = {
    "scores": "results/variants/{model}/{vcf}.h5",
    "skipped": "results/variants/{model}/{vcf}.skipped.tsv",
    "top": "results/variants/{model}/{vcf}.top.tsv",
    "effects": "results/variants/{model}/{vcf}.tsv.gz",
    "annotated": "results/variants/{model}/{vcf}.vcf.gz",
    "index": "results/variants/{model}/{vcf}.vcf.gz.tbi",
}


if not SHARD_SIZE:

    # One job scores a whole VCF, streaming it (memory does not grow with its length).
    rule variant_effects:
        input:
            gpu_checked=gpu_checked("variant_effects"),
            model="results/models/{model}/model.keras",
            model_config="results/models/{model}/config.yaml",
            genome=GENOME_FASTA,
            index=GENOME_INDEX,
            vcf=vcf_input,
            sheet=TRACKS_SHEET,
            background=background_input,
        output:
            **VARIANT_OUTPUTS,
        log:
            "logs/variant_effects/{model}/{vcf}.log",
        benchmark:
            "benchmarks/variant_effects/{model}/{vcf}.tsv"
        conda:
            "../../envs/variants.yaml"
        threads: 2
        resources:
            gpu=1,
            mem_mb=8000,
            runtime=lambda wc, attempt: attempt * 120,
        params:
            **variant_table_params(),
            device=config["train"].get("device", "auto"),
        shell:
            "seq2chrom score-variants --model {input.model:q} --genome {input.genome:q}"
            " --vcf {input.vcf:q} --track-sheet {input.sheet:q} --device {params.device:q}"
            " --background={input.background:q} --tsv-tracks {params.tsv_tracks:q}"
            " --min-abs-diff {params.min_abs_diff:q} --top {params.top:q}"
            " --out {output.scores:q} 2> {log:q}"

else:

    # variants.shard_size records per shard: the shards are scored as separate (GPU) jobs,
    # then gathered into the outputs one job would write, the same bytes.
    checkpoint variant_shards:
        input:
            vcf=vcf_input,
        output:
            directory("results/variant_shards/{vcf}"),
        log:
            "logs/variant_shards/{vcf}.log",
        benchmark:
            "benchmarks/variant_shards/{vcf}.tsv"
        conda:
            "../../envs/variants.yaml"
        params:
            shard_size=SHARD_SIZE,
        shell:
            "seq2chrom split-vcf --vcf {input.vcf:q} --shard-size {params.shard_size:q}"
            " --out-dir {output:q} 2> {log:q}"

    rule variant_effects:
        input:
            gpu_checked=gpu_checked("variant_effects"),
            model="results/models/{model}/model.keras",
            model_config="results/models/{model}/config.yaml",
            genome=GENOME_FASTA,
            index=GENOME_INDEX,
            vcf="results/variant_shards/{vcf}/{shard}.vcf.gz",
            sheet=TRACKS_SHEET,
            background=background_input,
        output:
            scores="results/variants/{model}/{vcf}.shards/{shard}.h5",
            skipped="results/variants/{model}/{vcf}.shards/{shard}.skipped.tsv",
        log:
            "logs/variant_effects/{model}/{vcf}/{shard}.log",
        benchmark:
            "benchmarks/variant_effects/{model}/{vcf}/{shard}.tsv"
        conda:
            "../../envs/variants.yaml"
        threads: 2
        resources:
            gpu=1,
            mem_mb=8000,
            runtime=lambda wc, attempt: attempt * 120,
        params:
            device=config["train"].get("device", "auto"),
        shell:
            "seq2chrom score-variants --model {input.model:q} --genome {input.genome:q}"
            " --vcf {input.vcf:q} --track-sheet {input.sheet:q} --device {params.device:q}"
            " --background={input.background:q} --part --out {output.scores:q} 2> {log:q}"

    rule variant_gather:
        input:
            vcf=vcf_input,
            sheet=TRACKS_SHEET,
            parts=variant_shard_scores,
        output:
            **VARIANT_OUTPUTS,
        log:
            "logs/variant_gather/{model}/{vcf}.log",
        benchmark:
            "benchmarks/variant_gather/{model}/{vcf}.tsv"
        conda:
            "../../envs/variants.yaml"
        resources:
            mem_mb=4000,
            runtime=lambda wc, attempt: attempt * 60,
        params:
            **variant_table_params(),
        shell:
            "seq2chrom gather-variants --vcf {input.vcf:q} --parts {input.parts:q}"
            " --track-sheet {input.sheet:q} --tsv-tracks {params.tsv_tracks:q}"
            " --min-abs-diff {params.min_abs_diff:q} --top {params.top:q}"
            " --out {output.scores:q} 2> {log:q}"


rule variant_report:
    input:
        top="results/variants/{model}/{vcf}.top.tsv",
    output:
        html=report(
            "results/variants/{model}/{vcf}.top.html",
            caption="../report/variants_top.rst",
            category="Variants",
            subcategory="{model}",
            labels={
                "model": "{model}",
                "item": "{vcf}: strongest variants and tracks",
            },
        ),
        png=report(
            "results/variants/{model}/{vcf}.png",
            caption="../report/variants_plot.rst",
            category="Variants",
            subcategory="{model}",
            labels={"model": "{model}", "item": "{vcf}: effects"},
        ),
    log:
        "logs/variant_report/{model}/{vcf}.log",
    benchmark:
        "benchmarks/variant_report/{model}/{vcf}.tsv"
    conda:
        "../../envs/variants.yaml"
    params:
        title=lambda wildcards: f"{wildcards.model}, {wildcards.vcf}",
    shell:
        "seq2chrom variant-report --top {input.top:q} --title {params.title:q}"
        " --out-html {output.html:q} --out-png {output.png:q} 2> {log:q}"


rule predict_region:
    input:
        gpu_checked=gpu_checked("predict_region"),
        model="results/models/{model}/model.keras",
        model_config="results/models/{model}/config.yaml",
        genome=GENOME_FASTA,
        index=GENOME_INDEX,
        regions=PREDICTION_TRACKS.get("regions") or [],
    output:
        expand(
            "results/tracks/{{model}}/{track}.bw",
            track=PREDICTION_TRACKS.get("tracks") or TRACKS,
        ),
    log:
        "logs/predict_region/{model}.log",
    benchmark:
        "benchmarks/predict_region/{model}.tsv"
    conda:
        "../../envs/variants.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wc, attempt: attempt * 60,
    params:
        tracks=",".join(PREDICTION_TRACKS.get("tracks") or []),
        step=PREDICTION_TRACKS.get("step", 200),
        bin_size=config["bins"]["size"],
        out_dir=lambda wc: f"results/tracks/{wc.model}",
        device=config["train"].get("device", "auto"),
    shell:
        "seq2chrom predict-region --model {input.model:q} --genome {input.genome:q}"
        " --device {params.device:q}"
        " --regions {input.regions:q} --tracks={params.tracks:q} --step {params.step:q}"
        " --bin-size {params.bin_size:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule mutagenesis_regions:
    input:
        predictions="results/predictions/{model}/test.h5",
        data="results/data/test.h5",
        top=lambda wc: (
            expand(
                "results/variants/{model}/{vcf}.top.tsv",
                model=wc.model,
                vcf=list(VCFS),
            )
            if wc.model in VARIANT_MODELS and MUTAGENESIS.get("top_variants")
            else []
        ),
    output:
        "results/mutagenesis/{model}/regions.bed",
    log:
        "logs/mutagenesis_regions/{model}.log",
    benchmark:
        "benchmarks/mutagenesis_regions/{model}.tsv"
    conda:
        "../../envs/variants.yaml"
    params:
        tracks=",".join(MUTAGENESIS.get("tracks") or []),
        top_variants=MUTAGENESIS.get("top_variants", 0),
        window=config["bins"]["window"],
        bin_size=config["bins"]["size"],
    shell:
        "seq2chrom mutagenesis-regions --predictions {input.predictions:q}"
        " --data {input.data:q} --tracks={params.tracks:q} --variants {input.top:q}"
        " --top-variants {params.top_variants:q} --window {params.window:q}"
        " --bin-size {params.bin_size:q} --out {output:q} 2> {log:q}"


rule mutagenesis:
    input:
        gpu_checked=gpu_checked("mutagenesis"),
        model="results/models/{model}/model.keras",
        model_config="results/models/{model}/config.yaml",
        genome=GENOME_FASTA,
        index=GENOME_INDEX,
        regions="results/mutagenesis/{model}/regions.bed",
    output:
        report(
            directory("results/mutagenesis/{model}/windows"),
            patterns=["{name}.png"],
            caption="../report/mutagenesis.rst",
            category="Variants",
            subcategory="{model}",
            labels={"model": "{model}", "item": "mutagenesis {name}"},
        ),
    log:
        "logs/mutagenesis/{model}.log",
    benchmark:
        "benchmarks/mutagenesis/{model}.tsv"
    conda:
        "../../envs/variants.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wc, attempt: attempt * 120,
    params:
        device=config["train"].get("device", "auto"),
    shell:
        "seq2chrom mutagenesis --model {input.model:q} --genome {input.genome:q}"
        " --regions {input.regions:q} --device {params.device:q} --out-dir {output:q}"
        " 2> {log:q}"
