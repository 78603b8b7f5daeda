rule sample_summary:
    input:
        genome=genome_of,
        gff=rules.predict_genes.output.gff,
        ss=rules.secondary_structure.output[0],
        upstream=rules.upstream_regions.output[0],
        hits=rules.scan_upstream_motifs.output[0],
    output:
        report(
            "results/{sample}/summary.tsv",
            caption="../report/sample_summary.rst",
            category="Samples",
            subcategory="{sample}",
            labels={"sample": "{sample}", "figure": "summary"},
        ),
    log:
        "results/logs/sample_summary/{sample}.log",
    benchmark:
        "results/benchmarks/sample_summary/{sample}.tsv"
    conda:
        "../envs/genoseq.yaml"
    resources:
        mem_mb=RESOURCES["mem_mb"]["small"],
    shell:
        "python -m genoseq.workflow summary --sample {wildcards.sample}"
        " --genome {input.genome:q} --genes {input.gff:q} --ss {input.ss:q}"
        " --upstream {input.upstream:q} --motif-hits {input.hits:q} -o {output:q} 2> {log:q}"


rule report:
    input:
        expand("results/{sample}/summary.tsv", sample=samples.index),
    output:
        table=report(
            "results/report.tsv",
            caption="../report/report_table.rst",
            category="All samples",
            labels={"figure": "summary table"},
        ),
        plot=report(
            "results/report.png",
            caption="../report/report_plot.rst",
            category="All samples",
            labels={"figure": "summary plots"},
        ),
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    conda:
        "../envs/genoseq.yaml"
    resources:
        mem_mb=RESOURCES["mem_mb"]["small"],
    shell:
        "python -m genoseq.workflow report {input:q} -o {output.table:q}"
        " --plot {output.plot:q} 2> {log:q}"
