"""The experiment workflow: prepare data, train every experiment × seed, evaluate, report.

Everything is computed from the validated pipeline file (`pipeline.yaml`, or the file given
with `--configfile`) through `methodlib.paths`; see docs/architecture.md.
"""


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/select.smk"
include: "rules/report.smk"
include: "rules/progress.smk"


rule all:
    default_target: True
    input:
        LAYOUT.all_targets(),


for _study in PIPELINE.study_names():

    rule:
        name:
            f"study_{_study}"
        input:
            LAYOUT.study_targets(_study),
