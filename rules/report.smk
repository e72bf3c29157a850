"""Tidy metrics, the DVC metrics summary, seaborn figures and reports/index.md."""


rule aggregate_study:
    input:
        INPUTS.study_run_metrics,
    output:
        f"{REPORTS}/studies/{{study}}/metrics.csv",
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/aggregate_study/{{study}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/aggregate_study/{{study}}.tsv"
    shell:
        "methodlib aggregate --study {wildcards.study}"
        " --out {output} {input} > {log} 2>&1"


rule aggregate_all:
    input:
        INPUTS.study_tables,
    output:
        csv=f"{REPORTS}/metrics.csv",
        dvc=LAYOUT.dvc_metric_files(),
        curves=f"{REPORTS}/curves.csv",
    params:
        dvc_dir=lambda wildcards, output: os.path.join(os.path.dirname(output.csv), "metrics"),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/aggregate_all.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/aggregate_all.tsv"
    shell:
        "methodlib combine --out-csv {output.csv} --out-metrics {params.dvc_dir}"
        " --out-curves {output.curves} {input} > {log} 2>&1"


rule plot_figure:
    input:
        metrics=f"{REPORTS}/studies/{{study}}/metrics.csv",
        logs=INPUTS.figure_logs,
    output:
        report(
            f"{REPORTS}/figures/{{study}}/{{figure}}.png",
            caption="report/figure.rst",
            category="{study}",
        ),
    params:
        config=INPUTS.figure_config,
        caption=INPUTS.figure_caption,
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_figure/{{study}}/{{figure}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_figure/{{study}}/{{figure}}.tsv"
    shell:
        "methodlib plot --figure {wildcards.figure}"
        " --metrics {input.metrics} --out {output} > {log} 2>&1"


rule plot_curves:
    input:
        INPUTS.experiment_logs,
    output:
        report(
            f"{REPORTS}/curves/{{experiment}}.png",
            caption="report/curves.rst",
            category="training curves",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_curves/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_curves/{{experiment}}.tsv"
    shell:
        "methodlib curves --experiment {wildcards.experiment} --out {output} {input} > {log} 2>&1"


rule plot_samples:
    input:
        INPUTS.first_seed_predictions,
    output:
        report(
            f"{REPORTS}/samples/{{experiment}}.png",
            caption="report/samples.rst",
            category="samples",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_samples/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_samples/{{experiment}}.tsv"
    shell:
        "methodlib plot-samples --experiment {wildcards.experiment} --out {output} {input}"
        " > {log} 2>&1"


rule plot_inpainting:
    input:
        INPUTS.first_seed_predictions,
    output:
        report(
            f"{REPORTS}/inpainting/{{experiment}}.png",
            caption="report/inpainting.rst",
            category="samples",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_inpainting/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_inpainting/{{experiment}}.tsv"
    shell:
        "methodlib plot-inpainting --experiment {wildcards.experiment} --out {output} {input}"
        " > {log} 2>&1"


rule plot_ponder_maps:
    input:
        INPUTS.first_seed_predictions,
    output:
        report(
            f"{REPORTS}/ponder_maps/{{experiment}}.png",
            caption="report/ponder_maps.rst",
            category="samples",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_ponder_maps/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_ponder_maps/{{experiment}}.tsv"
    shell:
        "methodlib plot-ponder --experiment {wildcards.experiment} --out {output} {input}"
        " > {log} 2>&1"


rule table_samples:
    input:
        INPUTS.first_seed_predictions,
    output:
        f"{REPORTS}/samples/{{experiment}}.md",
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/table_samples/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/table_samples/{{experiment}}.tsv"
    shell:
        "methodlib sample-table --experiment {wildcards.experiment} --out {output} {input}"
        " > {log} 2>&1"


rule table_words:
    input:
        INPUTS.first_seed_predictions,
    output:
        f"{REPORTS}/words/{{experiment}}.md",
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/table_words/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/table_words/{{experiment}}.tsv"
    shell:
        "methodlib word-table --experiment {wildcards.experiment} --out {output} {input}"
        " > {log} 2>&1"


rule plot_autoencoder:
    input:
        predictions=INPUTS.first_seed_predictions,
        model=INPUTS.first_seed_model,
        data=INPUTS.experiment_data,
    output:
        report(
            f"{REPORTS}/autoencoders/{{experiment}}.png",
            caption="report/autoencoder.rst",
            category="samples",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_autoencoder/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_autoencoder/{{experiment}}.tsv"
    shell:
        "methodlib plot-autoencoder --experiment {wildcards.experiment}"
        " --data {input.data} --out {output} {input.predictions} {input.model}"
        " > {log} 2>&1"


rule plot_pruning_histogram:
    input:
        models=INPUTS.experiment_models,
        data=INPUTS.experiment_data,
    output:
        report(
            f"{REPORTS}/pruning/histograms/{{experiment}}.png",
            caption="report/figure.rst",
            category="pruning",
        ),
    params:
        caption=INPUTS.histogram_caption,
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_pruning_histogram/{{experiment}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_pruning_histogram/{{experiment}}.tsv"
    shell:
        "methodlib plot-pruning --experiment {wildcards.experiment}"
        " --data {input.data} --out {output} {input.models} > {log} 2>&1"


rule plot_kept_fraction:
    input:
        f"{REPORTS}/studies/{{study}}/metrics.csv",
    output:
        report(
            f"{REPORTS}/pruning/kept_fraction/{{study}}.png",
            caption="report/figure.rst",
            category="pruning",
        ),
    params:
        caption=INPUTS.kept_fraction_caption,
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_kept_fraction/{{study}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_kept_fraction/{{study}}.tsv"
    shell:
        "methodlib plot-kept --study {wildcards.study}"
        " --metrics {input} --out {output} > {log} 2>&1"


rule plot_reliability:
    input:
        INPUTS.uncertainty_results,
    output:
        report(
            f"{REPORTS}/reliability/{{study}}.png",
            caption="report/reliability.rst",
            category="{study}",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_reliability/{{study}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_reliability/{{study}}.tsv"
    shell:
        "methodlib plot-reliability --study {wildcards.study}"
        " --out {output} {input} > {log} 2>&1"


rule plot_risk_coverage:
    input:
        INPUTS.uncertainty_results,
    output:
        report(
            f"{REPORTS}/risk_coverage/{{study}}.png",
            caption="report/risk_coverage.rst",
            category="{study}",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_risk_coverage/{{study}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_risk_coverage/{{study}}.tsv"
    shell:
        "methodlib plot-risk-coverage --study {wildcards.study}"
        " --out {output} {input} > {log} 2>&1"


rule decide_claims:
    input:
        metrics=f"{REPORTS}/metrics.csv",
        lock=INPUTS.claims_lock,
        selections=INPUTS.selections,
    output:
        f"{REPORTS}/claims.json",
    params:
        claims=INPUTS.claims_config,
        lock=LAYOUT.lock,
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/decide_claims.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/decide_claims.tsv"
    shell:
        "methodlib claims --metrics {input.metrics} --lock {params.lock}"
        " --selections {input.selections} --out {output} > {log} 2>&1"


rule plot_claims_forest:
    input:
        f"{REPORTS}/claims.json",
    output:
        report(
            f"{REPORTS}/figures/claims_forest.png",
            caption="report/claims_forest.rst",
            category="0 claims",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/plot_claims_forest.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/plot_claims_forest.tsv"
    shell:
        "methodlib plot-claims-forest --claims {input} --out {output} > {log} 2>&1"


rule write_claims_page:
    input:
        claims=f"{REPORTS}/claims.json",
        forest=f"{REPORTS}/figures/claims_forest.png",
    output:
        md=f"{REPORTS}/claims.md",
        html=report(
            f"{REPORTS}/claims.html",
            caption="report/claims.rst",
            category="0 claims",
        ),
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/write_claims_page.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/write_claims_page.tsv"
    shell:
        "methodlib claims-page --claims {input.claims} --forest {input.forest}"
        " --out {output.md} --html {output.html} > {log} 2>&1"


rule write_index:
    input:
        metrics=f"{REPORTS}/metrics.csv",
        claims=f"{REPORTS}/claims.json",
        selections=INPUTS.selections,
        figures=INPUTS.all_figures,
    output:
        f"{REPORTS}/index.md",
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/write_index.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/write_index.tsv"
    shell:
        "methodlib index --metrics {input.metrics} --claims {input.claims}"
        " --selections {input.selections} --out {output} > {log} 2>&1"
