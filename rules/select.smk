"""Selection on validation: each selection's chosen member, from its members' training logs."""


rule select_member:
    input:
        INPUTS.selection_logs,
    output:
        f"{REPORTS}/selections/{{selection}}.json",
    params:
        selection=INPUTS.selection_config,
    conda:
        ENV
    log:
        f"{REPORT_LOGS}/select_member/{{selection}}.log",
    benchmark:
        f"{REPORT_BENCHMARKS}/select_member/{{selection}}.tsv"
    shell:
        "methodlib select --selection {wildcards.selection} --out {output} {input} > {log} 2>&1"
