rule secondary_structure:
    input:
        rules.predict_genes.output.faa,
    output:
        "results/{sample}/ss.tsv",
    log:
        "results/logs/secondary_structure/{sample}.log",
    benchmark:
        "results/benchmarks/secondary_structure/{sample}.tsv"
    conda:
        "../envs/genoseq.yaml"
    threads: RESOURCES["threads"]
    resources:
        mem_mb=RESOURCES["mem_mb"]["ss"],
        gpu=RESOURCES["gpu"],
    params:
        device=DEVICE,
    shell:
        "genoseq ss -q -i {input:q} -o {output:q} --device {params.device}"
        " --threads {threads} 2> {log:q}"
