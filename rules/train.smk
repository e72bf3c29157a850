"""Training: one job per experiment × seed, in the run folder of its config's hash. Interrupted
jobs resume from the run's checkpoint (kept in the run folder's state/, which Snakemake does
not own). The judge of a dataset that generation and text runs are scored on is trained once
per dataset config."""


rule train_run:
    input:
        data=INPUTS.prepared_data,
        init=INPUTS.init_weights,
    output:
        predictions=f"{RUN}/predictions.npz",
        model=f"{RUN}/model.pt",
        train_log=f"{RUN}/train_log.csv",
        run=f"{RUN}/run.json",
    params:
        config=INPUTS.experiment_config,
        run_dir=INPUTS.output_dir,
        init=INPUTS.init_option,
    conda:
        ENV
    log:
        f"{paths.LOGS}/train_run/{{experiment}}/{{hash}}/seed{{seed}}.log",
    benchmark:
        f"{paths.BENCHMARKS}/train_run/{{experiment}}/{{hash}}/seed{{seed}}.tsv"
    threads: 1
    resources:
        gpu=1,
    shell:
        "methodlib train --experiment {wildcards.experiment}"
        " --seed {wildcards.seed} --data {input.data} {params.init} --out {params.run_dir}"
        " --threads {threads} > {log} 2>&1"


rule train_judge:
    input:
        INPUTS.judge_data,
    output:
        paths.JUDGE,
    conda:
        ENV
    log:
        f"{paths.LOGS}/train_judge/{{dataset}}/{{hash}}.log",
    benchmark:
        f"{paths.BENCHMARKS}/train_judge/{{dataset}}/{{hash}}.tsv"
    threads: 1
    resources:
        gpu=1,
    shell:
        "methodlib train-judge --data {input} --out {output}"
        " --threads {threads} > {log} 2>&1"
