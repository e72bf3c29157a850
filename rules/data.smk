"""Data preparation: the same command as the DVC stage, so a fresh clone runs without DVC. The
folder is named by the dataset's config hash (`methodlib.paths`)."""


rule prepare_dataset:
    output:
        directory(paths.PREPARED),
    params:
        config=INPUTS.dataset_config,
    conda:
        ENV
    log:
        f"{paths.LOGS}/prepare_dataset/{{dataset}}/{{hash}}.log",
    benchmark:
        f"{paths.BENCHMARKS}/prepare_dataset/{{dataset}}/{{hash}}.tsv"
    shell:
        "methodlib prepare --dataset {wildcards.dataset}"
        " --out {output} > {log} 2>&1"
