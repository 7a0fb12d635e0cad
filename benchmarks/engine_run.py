"""Run one engine job in this process and print its measurements as JSON: a benchmark child.

Usage: ``python -m benchmarks.engine_run SPEC.json``. The spec contains the ``oci`` config (an API
key user of the emulator), the emulator's endpoint templates and the job. The job runs through
``run_job`` with the product's own client factory: its default retry strategy, its client-side
rate limit and the job's default concurrency, exactly as the CLI builds them.

Each benchmark scenario runs in a fresh child so that its peak resident set is that scenario's
alone, not the benchmark driver's, which hosts the emulator.
"""

import json
import sys
import time
from pathlib import Path


def peak_rss_bytes() -> int:
    """Return this process's peak resident set size (VmHWM of /proc/self/status) in bytes.

    ``getrusage`` is not used: on Linux its ``ru_maxrss`` keeps the high-water mark of the
    image before ``exec``, which for a child of the benchmark driver is the driver's own size.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmHWM line; the benchmark needs Linux")


def main(spec_path: str) -> int:
    imports_started = time.perf_counter()
    from kms_key_backup.clients import ClientFactory
    from kms_key_backup.engine import run_job
    from kms_key_backup.job import parse_job
    import_seconds = time.perf_counter() - imports_started

    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    factory = ClientFactory(spec["oci_config"], kms_endpoint_template=spec["kms_endpoint_template"],
                            telemetry_endpoint_template=spec["telemetry_endpoint_template"])
    job = parse_job(spec["job"])

    started = time.perf_counter()
    report = run_job(job, factory)
    wall_seconds = time.perf_counter() - started

    document = report.to_dict()
    print(json.dumps({
        "wall_seconds": wall_seconds,
        "import_seconds": import_seconds,
        "status": document["status"],
        "counts": document["counts"],
        "error": document.get("error"),
        "concurrency": job.options.concurrency,
        "requests_per_second": job.options.requests_per_second,
        "peak_rss_bytes": peak_rss_bytes(),
    }))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m benchmarks.engine_run SPEC.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
