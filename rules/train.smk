"""Training: one job per experiment × seed. Interrupted jobs resume from the run's checkpoint
(kept in the run folder's state/, which Snakemake does not own). The judge classifier of a
dataset that image generation runs are scored on (`fid_judge`) is trained once per dataset."""


rule train_run:
    input:
        data=prepared_data,
        init=init_weights,
    output:
        predictions="results/{experiment}/seed{seed}/predictions.npz",
        model="results/{experiment}/seed{seed}/model.pt",
        train_log="results/{experiment}/seed{seed}/train_log.csv",
        run="results/{experiment}/seed{seed}/run.json",
    params:
        pipeline=PIPELINE_FILE,
        config=experiment_config,
        run_dir=output_dir,
    conda:
        ENV
    log:
        "results/logs/train_run/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train_run/{experiment}/seed{seed}.tsv"
    threads: 1
    resources:
        gpu=1,
    shell:
        "methodlib train --pipeline {params.pipeline} --experiment {wildcards.experiment}"
        " --seed {wildcards.seed} --out {params.run_dir} --threads {threads} > {log} 2>&1"


rule train_judge:
    input:
        judge_data,
    output:
        "results/judges/{dataset}/model.pt",
    conda:
        ENV
    log:
        "results/logs/train_judge/{dataset}.log",
    benchmark:
        "results/benchmarks/train_judge/{dataset}.tsv"
    threads: 1
    shell:
        "methodlib train-judge --data {input} --out {output} --threads {threads} > {log} 2>&1"
