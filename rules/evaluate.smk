"""Evaluation of each finished run with its task's metrics."""


rule evaluate_run:
    input:
        predictions="results/{experiment}/seed{seed}/predictions.npz",
        run="results/{experiment}/seed{seed}/run.json",
    output:
        "results/{experiment}/seed{seed}/metrics.json",
    params:
        run_dir=input_dir,
    conda:
        ENV
    log:
        "results/logs/evaluate_run/{experiment}/seed{seed}.log",
    benchmark:
        "results/benchmarks/evaluate_run/{experiment}/seed{seed}.tsv"
    shell:
        "methodlib evaluate --run {params.run_dir} > {log} 2>&1"
