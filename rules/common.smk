"""The validated pipeline, its artifact layout (`methodlib.paths`) and its input functions
(`methodlib.workflow`): the rules are thin glue over those two tested modules."""

import inspect
import os
from pathlib import Path

from snakemake.common import overwrite_function_params
from snakemake.exceptions import WorkflowError

from methodlib import paths
from methodlib.errors import SpecError
from methodlib.paths import Layout
from methodlib.spec import NAME_PATTERN, load_pipeline
from methodlib.workflow import Inputs


def pipeline_file():
    """The pipeline file: the last `--configfile`, else pipeline.yaml. Snakemake's own `config`
    deep-merges config files, which would mix two pipelines' experiments; we read the file
    ourselves with the project's validator instead. The path reaches the jobs' command lines
    only, never their params: a run's identity is its resolved config, not the file's name."""
    if workflow.overwrite_configfiles:
        path = Path(workflow.overwrite_configfiles[-1])
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
    return config.get("pipeline", paths.DEFAULT_PIPELINE)


PIPELINE_FILE = pipeline_file()
ENV = "../envs/methodlib.yaml"  # used with --use-conda; relative to rules/
try:
    PIPELINE = load_pipeline(PIPELINE_FILE)
except SpecError as exc:
    raise WorkflowError(str(exc)) from None
os.environ[paths.PIPELINE_ENV] = PIPELINE_FILE  # what the jobs' `methodlib` commands read
LAYOUT = Layout(PIPELINE, PIPELINE_FILE)
INPUTS = Inputs(LAYOUT, ancient)
for _function in INPUTS.functions():  # Snakemake reads this instead of inspect.signature per call
    overwrite_function_params(
        getattr(_function, "__func__", _function), inspect.signature(_function).parameters
    )
REPORTS = LAYOUT.reports
REPORT_LOGS = f"{paths.LOGS}/{REPORTS}"
REPORT_BENCHMARKS = f"{paths.BENCHMARKS}/{REPORTS}"
RUN = paths.RUN
GROUP = paths.GROUP

_NAME = NAME_PATTERN.strip("^$")


wildcard_constraints:
    experiment=_NAME,
    dataset=_NAME,
    study=_NAME,
    figure=_NAME,
    selection=_NAME,
    seed=r"\d+",
    hash=paths.HASH,
