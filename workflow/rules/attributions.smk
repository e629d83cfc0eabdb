# Attributions stage: per-base contribution scores of chosen tracks on their best-predicted
# positive test windows, TF-MoDISco motifs in them matched to JASPAR, and the report pages.
# Included only when attributions.tracks lists tracks (settings: attributions_common.smk).
#
# Inputs:  results/models/{model}/model.keras (+ config.yaml), results/data/test.h5,
#          results/predictions/{model}/test.h5, JASPAR (pyjaspar) or motifs.meme_file.
# Outputs: results/attributions/{model}/{track}.h5 (and .bw along prediction_tracks.regions);
#          results/modisco/{model}/{track}/
#          (modisco.h5, patterns.meme, tomtom.tsv, patterns.tsv); results/modisco/{model}/
#          patterns.html, table.tsv, table.html.


rule attributions:
    input:
        gpu_checked=gpu_checked("attributions"),
        model="results/models/{model}/model.keras",
        model_config="results/models/{model}/config.yaml",
        data="results/data/test.h5",
        predictions="results/predictions/{model}/test.h5",
    output:
        expand("results/attributions/{{model}}/{track}.h5", track=ATTRIBUTION_TRACKS),
    log:
        "logs/attributions/{model}.log",
    benchmark:
        "benchmarks/attributions/{model}.tsv"
    conda:
        "../../envs/attributions.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wc, attempt: attempt * 120,
    params:
        tracks=ATTRIBUTION_TRACKS,
        windows=ATTRIBUTIONS.get("windows", 500),
        method=ATTRIBUTIONS.get("method", "gradient"),
        batch_size=ATTRIBUTIONS.get("batch_size", 128),
        references=ATTRIBUTIONS.get("references", 10),
        steps=ATTRIBUTIONS.get("steps", 20),
        bin_size=config["bins"]["size"],
        seed=config["seed"],
        device=config["train"].get("device", "auto"),
        out_dir=lambda wc: f"results/attributions/{wc.model}",
    shell:
        "seq2chrom attribute --model {input.model:q} --data {input.data:q}"
        " --predictions {input.predictions:q} --tracks {params.tracks:q}"
        " --windows {params.windows:q} --method {params.method:q}"
        " --batch-size {params.batch_size:q} --references {params.references:q}"
        " --steps {params.steps:q} --bin-size {params.bin_size:q} --seed {params.seed:q}"
        " --device {params.device:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule contribution_tracks:
    input:
        gpu_checked=gpu_checked("contribution_tracks"),
        model="results/models/{model}/model.keras",
        model_config="results/models/{model}/config.yaml",
        genome=GENOME_FASTA,
        index=GENOME_INDEX,
        regions=PREDICTION_TRACKS.get("regions") or [],
    output:
        expand("results/attributions/{{model}}/{track}.bw", track=ATTRIBUTION_TRACKS),
    log:
        "logs/contribution_tracks/{model}.log",
    benchmark:
        "benchmarks/contribution_tracks/{model}.tsv"
    conda:
        "../../envs/attributions.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=lambda wc, attempt: attempt * 60,
    params:
        tracks=ATTRIBUTION_TRACKS,
        method=ATTRIBUTIONS.get("method", "gradient"),
        batch_size=ATTRIBUTIONS.get("batch_size", 128),
        references=ATTRIBUTIONS.get("references", 10),
        steps=ATTRIBUTIONS.get("steps", 20),
        bin_size=config["bins"]["size"],
        seed=config["seed"],
        device=config["train"].get("device", "auto"),
        out_dir=lambda wc: f"results/attributions/{wc.model}",
    shell:
        "seq2chrom attribute-regions --model {input.model:q} --genome {input.genome:q}"
        " --regions {input.regions:q} --tracks {params.tracks:q}"
        " --method {params.method:q} --batch-size {params.batch_size:q}"
        " --references {params.references:q} --steps {params.steps:q}"
        " --bin-size {params.bin_size:q} --seed {params.seed:q}"
        " --device {params.device:q} --out-dir {params.out_dir:q} 2> {log:q}"


rule modisco:
    input:
        attributions="results/attributions/{model}/{track}.h5",
        meme_file=lambda wildcards: config["motifs"]["meme_file"] or [],
    output:
        h5="results/modisco/{model}/{track}/modisco.h5",
        meme="results/modisco/{model}/{track}/patterns.meme",
        tomtom="results/modisco/{model}/{track}/tomtom.tsv",
        patterns="results/modisco/{model}/{track}/patterns.tsv",
    log:
        "logs/modisco/{model}/{track}.log",
    benchmark:
        "benchmarks/modisco/{model}/{track}.tsv"
    conda:
        "../../envs/attributions.yaml"
    threads: 2
    resources:
        mem_mb=8000,
        runtime=lambda wc, attempt: attempt * 120,
    params:
        window=MODISCO.get("window", 400),
        max_seqlets=MODISCO.get("max_seqlets", 2000),
        leiden_runs=MODISCO.get("leiden_runs", 2),
        trim_threshold=MODISCO.get("trim_threshold", 0.3),
        qvalue=MODISCO.get("qvalue", 0.05),
        evalue=MODISCO.get("evalue", 10),
        min_seqlets=MODISCO.get("min_seqlets", 100),
        jaspar_release=config["motifs"]["jaspar_release"],
        jaspar_collection=config["motifs"]["jaspar_collection"],
        jaspar_tax_group=config["motifs"]["jaspar_tax_group"],
        meme_file=config["motifs"]["meme_file"],
        min_overlap=config["motifs"]["min_overlap"],
        out_dir=lambda wc: f"results/modisco/{wc.model}/{wc.track}",
    shell:
        "seq2chrom modisco --attributions {input.attributions:q} --window {params.window:q}"
        " --max-seqlets {params.max_seqlets:q} --leiden-runs {params.leiden_runs:q}"
        " --trim-threshold {params.trim_threshold:q} --qvalue {params.qvalue:q}"
        " --evalue {params.evalue:q} --min-seqlets {params.min_seqlets:q}"
        " --jaspar-release {params.jaspar_release:q}"
        " --jaspar-collection {params.jaspar_collection:q}"
        " --jaspar-tax-group {params.jaspar_tax_group:q} --meme-file={params.meme_file:q}"
        " --min-overlap {params.min_overlap:q} --threads {threads}"
        " --out-dir {params.out_dir:q} 2> {log:q}"


rule modisco_report:
    input:
        patterns=expand(
            "results/modisco/{{model}}/{track}/patterns.tsv", track=ATTRIBUTION_TRACKS
        ),
        meme=expand(
            "results/modisco/{{model}}/{track}/patterns.meme", track=ATTRIBUTION_TRACKS
        ),
        meme_file=lambda wildcards: config["motifs"]["meme_file"] or [],
    output:
        patterns=report(
            "results/modisco/{model}/patterns.html",
            caption="../report/modisco_patterns.rst",
            category="Motifs (TF-MoDISco)",
            subcategory="{model}",
            labels={"model": "{model}", "item": "patterns of each track"},
        ),
        table="results/modisco/{model}/table.tsv",
        html=report(
            "results/modisco/{model}/table.html",
            caption="../report/modisco_table.rst",
            category="Motifs (TF-MoDISco)",
            subcategory="{model}",
            labels={"model": "{model}", "item": "motifs x tracks"},
        ),
    log:
        "logs/modisco_report/{model}.log",
    benchmark:
        "benchmarks/modisco_report/{model}.tsv"
    conda:
        "../../envs/attributions.yaml"
    params:
        folders=lambda wc: [
            f"results/modisco/{wc.model}/{t}" for t in ATTRIBUTION_TRACKS
        ],
        jaspar_release=config["motifs"]["jaspar_release"],
        jaspar_collection=config["motifs"]["jaspar_collection"],
        jaspar_tax_group=config["motifs"]["jaspar_tax_group"],
        meme_file=config["motifs"]["meme_file"],
    shell:
        "seq2chrom modisco-report --name {wildcards.model:q} --tracks {params.folders:q}"
        " --jaspar-release {params.jaspar_release:q}"
        " --jaspar-collection {params.jaspar_collection:q}"
        " --jaspar-tax-group {params.jaspar_tax_group:q} --meme-file={params.meme_file:q}"
        " --out-patterns {output.patterns:q} --out-table {output.table:q}"
        " --out-html {output.html:q} 2> {log:q}"
