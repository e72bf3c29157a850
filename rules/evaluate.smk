"""Evaluation of each finished run with its task's metrics (with the dataset's judge where
the task asks for one), and of deep ensembles across an experiment's runs (for experiments
with an `ensemble` block)."""


rule evaluate_run:
    input:
        predictions=f"{RUN}/predictions.npz",
        run=f"{RUN}/run.json",
        judge=INPUTS.judge_model,
        data=INPUTS.evaluation_data,
    output:
        f"{RUN}/metrics.json",
    params:
        run_dir=INPUTS.input_dir,
        judge=INPUTS.judge_option,
        data=INPUTS.data_option,
    conda:
        ENV
    log:
        f"{paths.LOGS}/evaluate_run/{{experiment}}/{{hash}}/seed{{seed}}.log",
    benchmark:
        f"{paths.BENCHMARKS}/evaluate_run/{{experiment}}/{{hash}}/seed{{seed}}.tsv"
    shell:
        "methodlib evaluate --run {params.run_dir} {params.judge} {params.data} > {log} 2>&1"


rule evaluate_group:
    input:
        INPUTS.ensemble_members,
    output:
        metrics=f"{GROUP}/metrics.json",
        curve=f"{GROUP}/curve.csv",
    conda:
        ENV
    log:
        f"{paths.LOGS}/evaluate_group/{{experiment}}/{{hash}}.log",
    benchmark:
        f"{paths.BENCHMARKS}/evaluate_group/{{experiment}}/{{hash}}.tsv"
    shell:
        "methodlib evaluate-group --experiment {wildcards.experiment} --out {output.metrics}"
        " --curve {output.curve} {input} > {log} 2>&1"
