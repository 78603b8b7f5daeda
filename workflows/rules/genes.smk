rule predict_genes:
    input:
        genome=genome_of,
    output:
        gff="results/{sample}/genes.gff",
        faa="results/{sample}/proteins.faa",
        ffn="results/{sample}/genes.ffn",
    log:
        "results/logs/predict_genes/{sample}.log",
    benchmark:
        "results/benchmarks/predict_genes/{sample}.tsv"
    conda:
        "../envs/genoseq.yaml"
    threads: RESOURCES["threads"]
    resources:
        mem_mb=RESOURCES["mem_mb"]["predict"],
        gpu=RESOURCES["gpu"],
    params:
        table=table_of,
        options=predict_options(),
        device=DEVICE,
    shell:
        "genoseq predict -i {input.genome:q} -o {output.gff:q} -a {output.faa:q}"
        " -d {output.ffn:q} -g {params.table} {params.options}"
        " --device {params.device} --threads {threads} 2> {log:q}"


rule upstream_regions:
    input:
        genome=genome_of,
        gff=rules.predict_genes.output.gff,
    output:
        "results/{sample}/upstream.fa",
    log:
        "results/logs/upstream_regions/{sample}.log",
    benchmark:
        "results/benchmarks/upstream_regions/{sample}.tsv"
    conda:
        "../envs/genoseq.yaml"
    resources:
        mem_mb=RESOURCES["mem_mb"]["small"],
    params:
        length=config["motifs"]["upstream"],
    shell:
        "python -m genoseq.workflow upstream -i {input.genome:q} --genes {input.gff:q}"
        " -n {params.length} -o {output:q} 2> {log:q}"
