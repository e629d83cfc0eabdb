# Report stage: items that exist only for the HTML report (`snakemake --report`): the effective
# configuration with the tracks sheet, and the Tracks table.
#
# config_html takes the whole config as a param on purpose: it renders every setting, so it is
# the one job that reruns after any config change. (Captions are read only by
# `snakemake --report`; editing one reruns no job.)
import json
import os
from types import SimpleNamespace


rule config_html:
    input:
        # bundle mode has no track sheet: its label columns are the bundle's targets
        tracks=config["tracks"] if DATA_SOURCE != "deepsea_bundle" else [],
    output:
        report(
            "results/report/config.html",
            caption="../report/config.rst",
            category="Configuration",
            labels={"item": "settings and tracks sheet"},
        ),
    log:
        "logs/config_html/config.log",
    benchmark:
        "benchmarks/config_html/config.tsv"
    conda:
        "../../envs/evaluate.yaml"
    params:
        # a function, so that braces in values (train.init_from's {model}, a regular
        # expression's {n,m}) are not taken for wildcards
        config=lambda wildcards: json.dumps(config, sort_keys=False),
    shell:
        "seq2chrom config-html --config-json {params.config:q} --tracks={input.tracks:q}"
        " --out {output:q} 2> {log:q}"


if DATA_SOURCE != "deepsea_bundle":

    # Built from peak files and the label matrix's summary, which bundle mode does not have.
    rule tracks_table:
        input:
            sheet=TRACKS_SHEET,
            summary="results/data/summary.tsv",
            peaks=[track_peaks(SimpleNamespace(track=track)) for track in TRACKS],
            metrics=expand("results/eval/{model}/metrics.tsv", model=MODELS),
            base_config=base_model_config(),
        output:
            tsv="results/report/tracks.tsv",
            html=report(
                "results/report/tracks.html",
                caption="../report/tracks.rst",
                category="Tracks",
                labels={"item": "every track: source, peaks, positives, metrics"},
            ),
        log:
            "logs/tracks_table/tracks.log",
        benchmark:
            "benchmarks/tracks_table/tracks.tsv"
        conda:
            "../../envs/evaluate.yaml"
        params:
            models=MODELS,
        shell:
            "seq2chrom tracks-table --tracks {input.sheet:q} --summary {input.summary:q}"
            " --peaks {input.peaks:q} --metrics {input.metrics:q} --models {params.models:q}"
            " --base-config={input.base_config:q} --out-table {output.tsv:q}"
            " --out-html {output.html:q} 2> {log:q}"


# The Summary opens the report: its caption is written by the rule (the headline numbers, each
# a link to its detailed item), so the caption path is the output in the working directory.
# The landing page (report/workflow.rst) shows the same caption first.
SUMMARY_CAPTION = os.path.abspath("results/report/summary.rst")


rule report_summary:
    input:
        evaluation=expand("results/eval/{model}/summary.tsv", model=MODELS),
        motifs=expand("results/motifs/{model}/summary.tsv", model=MODELS),
        variants=expand(
            "results/variants/{model}/{vcf}.top.tsv",
            model=VARIANT_MODELS,
            vcf=list(VCFS),
        ),
        modisco=expand("results/modisco/{model}/table.tsv", model=ATTRIBUTION_MODELS),
    output:
        tsv="results/report/summary.tsv",
        html=report(
            "results/report/summary.html",
            caption=SUMMARY_CAPTION,
            category="Summary",
            labels={"item": "headline numbers of every model"},
        ),
        rst="results/report/summary.rst",
    log:
        "logs/report_summary/summary.log",
    benchmark:
        "benchmarks/report_summary/summary.tsv"
    conda:
        "../../envs/evaluate.yaml"
    params:
        models=MODELS,
        presets=json.dumps(
            {
                name: settings.get("preset", "full")
                for name, settings in config["models"].items()
            }
        ),
    shell:
        "seq2chrom report-summary --models {params.models:q} --presets {params.presets:q}"
        " --eval {input.evaluation:q} --motifs {input.motifs:q} --variants {input.variants:q}"
        " --modisco {input.modisco:q}"
        " --out-table {output.tsv:q} --out-html {output.html:q} --out-rst {output.rst:q} 2> {log:q}"
