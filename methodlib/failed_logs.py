"""The end of a failed job's log, for the console: Snakemake's `show-failed-logs` prints a
whole log, and a training job's log holds a progress bar for every epoch, so the workflow
(`onerror:` in the Snakefile) prints the log's path and its last lines instead."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

LINES = 20
WIDTH = 240
"""Characters kept of a line: a traceback line fits, a runaway line of numbers does not."""
READ_BYTES = 64_000
"""The tail read of a log (a long training log is megabytes of progress-bar updates)."""


def log_tail(path: str | Path, lines: int = LINES) -> list[str]:
    """The last `lines` non-blank lines of a log. A progress bar redraws itself after carriage
    returns on one line: only its last state is kept."""
    path = Path(path)
    with path.open("rb") as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - READ_BYTES))
        text = f.read().decode("utf-8", errors="replace")
    shown = (_last_redraw(line) for line in text.split("\n"))
    kept = [line for line in shown if line.strip()][-lines:]
    return [line if len(line) <= WIDTH else line[: WIDTH - 1] + "…" for line in kept]


def failed_logs_message(logs: Iterable[str | Path], lines: int = LINES) -> str:
    """For each failed job's log: its path and its last lines, indented; a missing log says
    so (the job failed before writing it)."""
    out = []
    for path in dict.fromkeys(str(p) for p in logs):
        if not Path(path).is_file():
            out.append(f"{path}: no log written")
            continue
        tail = log_tail(path, lines)
        out.append(f"{path} (last {len(tail)} lines; the whole log is in that file):")
        out += [f"    {line}" for line in tail]
    return "\n".join(out)


def _last_redraw(line: str) -> str:
    parts = [part for part in line.rstrip("\r").split("\r") if part.strip()]
    return parts[-1] if parts else ""
