# Motifs stage: first-layer filters -> PWMs and influence (Basset's rules), Tomtom matches against
# JASPAR with a Pearson column score, information-content logos and a summary table.


rule motif_pwms:
    input:
        gpu_checked=gpu_checked("motif_pwms"),
        model="results/models/{model}/model.keras",
        data="results/data/test.h5",
    output:
        meme="results/motifs/{model}/filters.meme",
        filters=report(
            "results/motifs/{model}/filters.tsv",
            caption="../report/motif_filters.rst",
            category="Motifs",
            subcategory="{model}",
            labels={"model": "{model}", "item": "filters"},
        ),
        influence="results/motifs/{model}/influence.tsv",
    log:
        "logs/motif_pwms/{model}.log",
    benchmark:
        "benchmarks/motif_pwms/{model}.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 2
    resources:
        gpu=1,
        mem_mb=preset_resource("motif_pwms", "mem_mb"),
        runtime=preset_resource("motif_pwms", "runtime"),
    params:
        max_sequences=config["motifs"]["max_sequences"],
        activation_threshold=config["motifs"]["activation_threshold"],
        min_sites=config["motifs"]["min_sites"],
        pwm_rule=config["motifs"]["pwm_rule"],
        influence_sequences=config["motifs"]["influence_sequences"],
        seed=config["seed"],
    shell:
        "seq2chrom filter-pwms --model {input.model:q} --data {input.data:q}"
        " --max-sequences {params.max_sequences:q}"
        " --activation-threshold {params.activation_threshold:q}"
        " --min-sites {params.min_sites:q} --pwm-rule {params.pwm_rule:q}"
        " --influence-sequences {params.influence_sequences:q}"
        " --seed {params.seed:q} --threads {threads} --out-meme {output.meme:q}"
        " --out-filters {output.filters:q} --out-influence {output.influence:q} 2> {log:q}"


rule motif_tomtom:
    input:
        query="results/motifs/{model}/filters.meme",
        meme_file=lambda wildcards: config["motifs"]["meme_file"] or [],
    output:
        report(
            "results/motifs/{model}/tomtom.tsv",
            caption="../report/motif_tomtom.rst",
            category="Motifs",
            subcategory="{model}",
            labels={"model": "{model}", "item": "Tomtom matches"},
        ),
    log:
        "logs/motif_tomtom/{model}.log",
    benchmark:
        "benchmarks/motif_tomtom/{model}.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 2
    params:
        jaspar_release=config["motifs"]["jaspar_release"],
        jaspar_collection=config["motifs"]["jaspar_collection"],
        jaspar_tax_group=config["motifs"]["jaspar_tax_group"],
        meme_file=config["motifs"]["meme_file"],
        evalue=config["motifs"]["evalue"],
        min_overlap=config["motifs"]["min_overlap"],
    shell:
        "seq2chrom tomtom --query {input.query:q} --jaspar-release {params.jaspar_release:q}"
        " --jaspar-collection {params.jaspar_collection:q}"
        " --jaspar-tax-group {params.jaspar_tax_group:q} --meme-file={params.meme_file:q}"
        " --evalue {params.evalue:q} --min-overlap {params.min_overlap:q} --threads {threads}"
        " --out {output:q} 2> {log:q}"


rule motif_logos:
    input:
        meme="results/motifs/{model}/filters.meme",
        filters="results/motifs/{model}/filters.tsv",
        tomtom="results/motifs/{model}/tomtom.tsv",
    output:
        logos=report(
            directory("results/motifs/{model}/logos"),
            patterns=["{name}.png"],
            caption="../report/motif_logos.rst",
            category="Motifs",
            subcategory="{model}",
            labels={"model": "{model}", "item": "logo {name}"},
        ),
        summary="results/motifs/{model}/summary.tsv",
        html=report(
            "results/motifs/{model}/summary.html",
            caption="../report/motif_summary.rst",
            category="Motifs",
            subcategory="{model}",
            labels={"model": "{model}", "item": "summary"},
        ),
    log:
        "logs/motif_logos/{model}.log",
    benchmark:
        "benchmarks/motif_logos/{model}.tsv"
    conda:
        "../../envs/motifs.yaml"
    threads: 2
    shell:
        "seq2chrom logos --meme {input.meme:q} --filters {input.filters:q}"
        " --tomtom {input.tomtom:q} --name {wildcards.model:q} --threads {threads}"
        " --out-dir {output.logos:q} --out-summary {output.summary:q} --out-html {output.html:q}"
        " 2> {log:q}"
