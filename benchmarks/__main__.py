"""Run the benchmark scenarios and write docs/benchmarks.md: ``python -m benchmarks [--smoke] [--output PATH]``."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import document, scenarios
from benchmarks.harness import REPOSITORY, BenchEnvironment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--output", type=Path, default=REPOSITORY / "docs" / "benchmarks.md",
                        help="Markdown file to write (default docs/benchmarks.md)")
    parser.add_argument("--smoke", action="store_true",
                        help="a few keys, no latency: checks that every scenario runs, in seconds")
    parser.add_argument("--keep-work-dir", action="store_true",
                        help="keep the temporary directory with the children's logs")
    return parser


def _progress(started: float, message: str) -> None:
    print(f"[{time.perf_counter() - started:6.1f} s] {message}", flush=True)


def run(sizes: scenarios.Sizes, work_dir: Path) -> list[scenarios.ScenarioResult]:
    started = time.perf_counter()
    results = []
    with BenchEnvironment(work_dir, sizes.latency_ms, sizes.throttle_rps, sizes.lifecycle_delay_ms,
                          sizes.reuse_wrapping_keys) as env:
        _progress(started, f"Full sync of {sizes.keys} keys × {sizes.versions} versions...")
        sync, pair = scenarios.full_sync(env, sizes)
        results.append(sync)
        _progress(started, "No-op sweep of the same vault...")
        results.append(scenarios.noop_sweep(env, sizes, pair, "noop_sweep",
                                            f"No-op sweep, the same {sizes.keys} keys"))
        _progress(started, "Rotation events through the function...")
        results.extend(scenarios.rotation_events(env, sizes, pair))
        _progress(started, "Cold start...")
        results.append(scenarios.cold_start(env, sizes, pair))
        _progress(started, f"Baseline over {sizes.baseline_keys} keys...")
        results.append(scenarios.baseline(env, sizes, pair, sync))
        _progress(started, f"No-op sweep of {sizes.big_sweep_keys:,} keys...")
        results.append(scenarios.big_noop_sweep(env, sizes))
        _progress(started, "Done.")
    return results


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    sizes = scenarios.SMOKE if args.smoke else scenarios.FULL
    work_dir = Path(tempfile.mkdtemp(prefix="kms-key-backup-bench-"))
    load_before = os.getloadavg()
    started = time.perf_counter()
    try:
        results = run(sizes, work_dir)
    except Exception as exc:  # noqa: BLE001 - report and keep the logs of a failed benchmark
        print(f"The benchmark failed: {type(exc).__name__}: {exc}\nLogs are in {work_dir}", file=sys.stderr)
        return 1
    total = time.perf_counter() - started
    machine = document.machine_rows(REPOSITORY, document.python_command())
    generated = document.render(results, sizes, machine, load_before, os.getloadavg(), total)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    document.write(args.output, generated)
    if not args.keep_work_dir:
        shutil.rmtree(work_dir, ignore_errors=True)
    missed = [target.description for result in results for target in result.targets if not target.met]
    print(f"Wrote {args.output} in {total:.0f} s; targets missed: {len(missed)}")
    for description in missed:
        print(f"  missed: {description}")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    sys.exit(main())
