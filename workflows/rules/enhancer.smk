rule enhancer_scores:
    input:
        lambda wildcards: ENHANCER_PAIRS[wildcards.pairs],
    output:
        report(
            "results/enhancer/{pairs}.scored.tsv",
            caption="../report/enhancer_scores.rst",
            category="Enhancer-gene scores",
            labels={"table": "{pairs}"},
        ),
    log:
        "results/logs/enhancer_scores/{pairs}.log",
    benchmark:
        "results/benchmarks/enhancer_scores/{pairs}.tsv"
    conda:
        "../envs/genoseq.yaml"
    threads: RESOURCES["threads"]
    resources:
        mem_mb=RESOURCES["mem_mb"]["enhancer"],
    params:
        device=DEVICE,
    shell:
        "genoseq enhancer -i {input:q} -o {output:q} --device {params.device}"
        " --threads {threads} 2> {log:q}"
