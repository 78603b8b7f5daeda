rule sample_summary:
    input:
        genome=genome_of,
        gff=rules.predict_genes.output.gff,
        ss=rules.secondary_structure.output[0],
        upstream=rules.upstream_regions.output[0],
        hits=rules.scan_upstream_motifs.output[0],
    output:
        "results/{sample}/summary.tsv",
    log:
        "results/logs/sample_summary/{sample}.log",
    benchmark:
        "results/benchmarks/sample_summary/{sample}.tsv"
    localrule: True
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
        table="results/report.tsv",
        plot="results/report.png",
    log:
        "results/logs/report.log",
    benchmark:
        "results/benchmarks/report.tsv"
    localrule: True
    conda:
        "../envs/genoseq.yaml"
    resources:
        mem_mb=RESOURCES["mem_mb"]["small"],
    shell:
        "python -m genoseq.workflow report {input:q} -o {output.table:q}"
        " --plot {output.plot:q} 2> {log:q}"
