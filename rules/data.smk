"""Data preparation: the same command as the DVC stage, so a fresh clone runs without DVC."""


rule prepare_dataset:
    output:
        directory("data/prepared/{dataset}"),
    params:
        pipeline=PIPELINE_FILE,
        config=dataset_config,
    conda:
        ENV
    log:
        "results/logs/prepare_dataset/{dataset}.log",
    benchmark:
        "results/benchmarks/prepare_dataset/{dataset}.tsv"
    shell:
        "methodlib prepare --pipeline {params.pipeline} --dataset {wildcards.dataset}"
        " --out {output} > {log} 2>&1"
