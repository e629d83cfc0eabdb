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
        "seq2chrom genome --input {input} --output {output.fasta} 2> {log}"


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
    shell:
        "seq2chrom tile --genome {input.fasta} --size {params.size} --window {params.window}"
        " --blacklist={params.blacklist:q} --output {output} 2> {log}"


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
        " --peaks {output.peaks} --record {output.record} 2> {log}"


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
        "seq2chrom label --bins {input.bins} --peaks {input.peaks}"
        " --min-overlap {params.min_overlap} --output {output} 2> {log}"


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
        "seq2chrom assemble --bins {input.bins} --tracks {input.sheet} --labels {input.labels}"
        " --select {params.select} --test {params.test:q} --valid {params.valid:q}"
        " --output {output} 2> {log}"


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
    shell:
        "seq2chrom encode --genome {input.fasta} --labels {input.labels} --split {wildcards.split}"
        " --threads {threads} --output {output} 2> {log}"


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
        "seq2chrom data-summary --labels {input} --tsv {output.tsv} --html {output.html}"
        " 2> {log}"
