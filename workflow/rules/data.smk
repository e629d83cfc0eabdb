# Data build: genome -> 200 bp bins -> labels per track -> label matrix -> one-hot split files.
# Tracks given as http(s) URLs are downloaded by Snakemake's HTTP storage plugin and cached.
check_track_files()


rule genome:
    input:
        config["genome"],
    output:
        fasta="results/genome/genome.fa",
        index="results/genome/genome.fa.fai",
    log:
        "logs/genome/genome.log",
    benchmark:
        "benchmarks/genome/genome.tsv"
    conda:
        "../../envs/data.yaml"
    shell:
        "seq2chrom genome --input {input:q} --out {output.fasta:q} 2> {log:q}"


rule tile:
    input:
        fasta="results/genome/genome.fa",
        index="results/genome/genome.fa.fai",
        blacklist=config["bins"].get("blacklist") or [],
    output:
        "results/data/bins.h5",
    log:
        "logs/tile/tile.log",
    benchmark:
        "benchmarks/tile/tile.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        size=config["bins"]["size"],
        window=config["bins"]["window"],
        blacklist=config["bins"].get("blacklist", ""),
        # a function: Snakemake would read {n,m} of a regular expression as a wildcard
        chromosomes=lambda wildcards: config["bins"]["chromosomes"],
    shell:
        "seq2chrom tile --genome {input.fasta:q} --size {params.size:q} --window {params.window:q}"
        " --blacklist={params.blacklist:q} --chromosomes={params.chromosomes:q}"
        " --out {output:q} 2> {log:q}"


rule fetch_track:
    input:
        track_url,
    output:
        peaks="resources/tracks/{track}.peaks",
        record="resources/tracks/{track}.json",
    log:
        "logs/fetch_track/{track}.log",
    benchmark:
        "benchmarks/fetch_track/{track}.tsv"
    localrule: True
    conda:
        "../../envs/data.yaml"
    params:
        url=lambda wildcards: tracks.loc[wildcards.track, "path"],
        md5=track_md5,
    shell:
        "seq2chrom fetch-track --url {params.url:q} --download {input:q} --md5={params.md5:q}"
        " --out-peaks {output.peaks:q} --out-record {output.record:q} 2> {log:q}"


rule label:
    input:
        bins="results/data/bins.h5",
        peaks=track_peaks,
    output:
        "results/labels/{track}.npy",
    log:
        "logs/label/{track}.log",
    benchmark:
        "benchmarks/label/{track}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        min_overlap=config["bins"]["min_overlap"],
    shell:
        "seq2chrom label --bins {input.bins:q} --peaks {input.peaks:q}"
        " --min-overlap {params.min_overlap:q} --out {output:q} 2> {log:q}"


rule assemble:
    input:
        bins="results/data/bins.h5",
        sheet=config["tracks"],
        labels=expand("results/labels/{track}.npy", track=TRACKS),
    output:
        "results/data/labels.h5",
    log:
        "logs/assemble/assemble.log",
    benchmark:
        "benchmarks/assemble/assemble.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        select=config["bins"]["select"],
        test=config["split"]["test"],
        valid=config["split"]["valid"],
    shell:
        "seq2chrom assemble --bins {input.bins:q} --tracks {input.sheet:q}"
        " --labels {input.labels:q}"
        " --select {params.select:q} --test {params.test:q} --valid {params.valid:q}"
        " --out {output:q} 2> {log:q}"


rule encode:
    input:
        fasta="results/genome/genome.fa",
        index="results/genome/genome.fa.fai",
        labels="results/data/labels.h5",
    output:
        "results/data/{split}.h5",
    log:
        "logs/encode/{split}.log",
    benchmark:
        "benchmarks/encode/{split}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: 2
    params:
        # training samples are written in a seeded full permutation; valid/test in genome order
        shuffle=lambda wildcards: (
            ["--shuffle-seed", config["seed"]] if wildcards.split == "train" else []
        ),
    shell:
        "seq2chrom encode --genome {input.fasta:q} --labels {input.labels:q}"
        " --split {wildcards.split:q}"
        " --threads {threads} {params.shuffle:q} --out {output:q} 2> {log:q}"


rule data_summary:
    input:
        "results/data/labels.h5",
    output:
        tsv="results/data/summary.tsv",
        html=report(
            "results/data/summary.html",
            caption="../report/data_summary.rst",
            category="Data",
        ),
    log:
        "logs/data_summary/data_summary.log",
    benchmark:
        "benchmarks/data_summary/data_summary.tsv"
    conda:
        "../../envs/data.yaml"
    shell:
        "seq2chrom data-summary --labels {input:q} --out-table {output.tsv:q}"
        " --out-html {output.html:q} 2> {log:q}"
