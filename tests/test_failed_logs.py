"""A failed job's log on the console: its path and last lines, a progress bar's redraws
folded into its last state, runaway lines cut, a missing log named."""

from __future__ import annotations

from methodlib.failed_logs import READ_BYTES, WIDTH, failed_logs_message, log_tail


def test_the_tail_keeps_the_last_lines_and_a_bars_last_state(tmp_path):
    log = tmp_path / "seed0.log"
    bar = "".join(f"epoch 1/2: {i}/5\r" for i in range(5)) + "epoch 1/2: 5/5\n"
    log.write_text("start\n" + bar + "\n" + "x" * (WIDTH + 50) + "\nerror: loss is nan\n")
    assert log_tail(log, 3) == ["epoch 1/2: 5/5", "x" * (WIDTH - 1) + "…", "error: loss is nan"]


def test_a_long_log_is_read_from_its_end_only(tmp_path):
    log = tmp_path / "long.log"
    log.write_text("".join(f"line {i}\n" for i in range(3 * READ_BYTES // 8)) + "the end\n")
    tail = log_tail(log, 20)
    assert len(tail) == 20 and tail[-1] == "the end"


def test_the_message_names_each_log_once_and_a_missing_one(tmp_path):
    log = tmp_path / "a.log"
    log.write_text("Traceback\nRunError: boom\n")
    message = failed_logs_message([log, str(log), tmp_path / "b.log"])
    assert message.splitlines() == [
        f"{log} (last 2 lines; the whole log is in that file):",
        "    Traceback",
        "    RunError: boom",
        f"{tmp_path / 'b.log'}: no log written",
    ]
