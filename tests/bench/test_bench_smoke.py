"""Smoke test of `make bench`: every scenario runs with a few keys and no latency, and the page is written.

It checks that the benchmark still runs against the current engine, function and emulator, not
its numbers: with no latency and 4 keys, the targets are not meaningful. The driver runs in
this process, so its emulator draws vault wrapping keys from the pool the other tests filled.
"""

import pytest

from benchmarks.__main__ import main

SECTIONS = (
    "## Machine and versions",
    "## Targets",
    "## Full sync, 4 keys × 3 versions",
    "## No-op sweep, the same 4 keys",
    "## One key rotated: CloudEvent to a fresh container",
    "## One key rotated: CloudEvent to a warm container",
    "## Cold start",
    "## Baseline: one process per key, current version only (2 keys)",
    "## No-op sweep, 10 keys",
)


@pytest.mark.slow
def test_bench_smoke_writes_every_scenario(tmp_path, capsys):
    output = tmp_path / "benchmarks.md"

    assert main(["--smoke", "--output", str(output)]) == 0, capsys.readouterr().err
    text = output.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in text, f"{section!r} is missing from the smoke output"
    targets = text.split("## Targets", 1)[1].split("\n## ", 1)[0]
    target_rows = [line for line in targets.splitlines()
                   if line.startswith("| ") and not line.startswith("| target")]
    assert len(target_rows) == 11
    assert "No analysis has been written for these results yet." in text
