"""Run one engine job in this process and print its measurements as JSON: a benchmark child.

Usage: ``python -m benchmarks.engine_run SPEC.json``. The spec holds the ``oci`` config (an API
key user of the emulator), the emulator's endpoint templates and the job. The job runs through
``run_job`` with the product's own client factory: its default retry strategy, its client-side
rate limit and the job's default concurrency, exactly as the CLI builds them.

Each benchmark scenario runs in a fresh child so that ``ru_maxrss`` is the peak resident set of
that scenario alone, not of the benchmark driver that hosts the emulator.
"""

import json
import resource
import sys
import time


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
        # Linux reports ru_maxrss in KiB.
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m benchmarks.engine_run SPEC.json", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
