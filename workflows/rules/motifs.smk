rule scan_upstream_motifs:
    input:
        fasta=rules.upstream_regions.output[0],
        motifs=MOTIF_FILE,
    output:
        "results/{sample}/upstream_motifs.tsv",
    log:
        "results/logs/scan_upstream_motifs/{sample}.log",
    benchmark:
        "results/benchmarks/scan_upstream_motifs/{sample}.tsv"
    conda:
        "../envs/genoseq.yaml"
    threads: 1
    resources:
        mem_mb=RESOURCES["mem_mb"]["motifs"],
    params:
        options=scan_options(),
        device=DEVICE,
    shell:
        "genoseq motifs scan -q -i {input.fasta:q} --motifs {input.motifs:q}"
        " {params.options} -o {output:q} --device {params.device}"
        " --threads {threads} 2> {log:q}"
