# Report stage: items that exist only for the HTML report (`snakemake --report`), here the
# effective configuration and the tracks sheet rendered as HTML tables.
import json


rule config_html:
    input:
        tracks=config["tracks"],
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
        "seq2chrom config-html --config-json {params.config:q} --tracks {input.tracks}"
        " --output {output} 2> {log}"
