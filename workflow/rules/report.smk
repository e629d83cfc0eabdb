# Report stage: items that exist only for the HTML report (`snakemake --report`): the effective
# configuration with the tracks sheet, and the Tracks table.
#
# config_html takes the whole config as a param on purpose: it renders every setting, so it is
# the one job that reruns after any config change. (Captions are read only by
# `snakemake --report`; editing one reruns no job.)
import json
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
        config=json.dumps(config, sort_keys=False),
    shell:
        "seq2chrom config-html --config-json {params.config:q} --tracks={input.tracks:q}"
        " --output {output} 2> {log}"


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
            "seq2chrom tracks-table --tracks {input.sheet} --summary {input.summary}"
            " --peaks {input.peaks} --metrics {input.metrics} --models {params.models}"
            " --base-config={input.base_config:q} --tsv {output.tsv} --html {output.html}"
            " 2> {log}"
