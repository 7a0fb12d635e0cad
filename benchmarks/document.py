"""Write docs/benchmarks.md: the machine, the settings, a table of targets, and a section per scenario.

Everything above the line ``FINDINGS_MARKER`` is regenerated on each run. Everything below it
(the written analysis of the results) is kept from the existing file, because a person writes it
after reading the numbers.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path

from benchmarks.calls import VAULT_CATEGORIES
from benchmarks.scenarios import ScenarioResult, Sizes

FINDINGS_MARKER = "<!-- Everything below this line is kept when make bench rewrites the file. -->"
PACKAGES = ("oci", "fdk", "cryptography")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_total() -> str:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _git_commit(repository: Path) -> str:
    try:
        completed = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repository, capture_output=True,
                                   text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    commit = completed.stdout.strip() or "unknown"
    # The page this run rewrites does not count as a change to the code measured.
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                            ":(exclude)docs/benchmarks.md"], cwd=repository,
                           capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    return commit + (" with uncommitted changes" if dirty else "")


def machine_rows(repository: Path, command: str) -> list[tuple[str, str]]:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in PACKAGES)
    return [
        ("command", f"`{command}`"),
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("commit", _git_commit(repository)),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", versions),
        ("CPU", f"{_cpu_model()}, {os.cpu_count()} logical cores"),
        ("memory", _memory_total()),
        ("OS", f"{platform.system()} {platform.release()}"),
    ]


def _table(headers: tuple[str, ...], rows) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _scenario_section(scenario: ScenarioResult) -> list[str]:
    lines = [f"## {scenario.title}", "", scenario.description, ""]
    lines += _table(("measure", "value"), scenario.rows)
    if scenario.stats is not None:
        unit, count = scenario.per_unit or ("run", 1)
        lines += ["", f"Calls per operation (answers of every status, from the emulator's call log):", ""]
        lines += _table(("operation", "calls", f"per {unit}"),
                        [(name, calls, f"{calls / count:.2f}") for name, calls in scenario.stats.operations_table()])
        buckets = sorted(scenario.stats.by_bucket.items(), key=lambda item: (item[0][0] or "", item[0][1]))
        lines += ["", "Calls per throttle bucket (429 answers left out):", ""]
        lines += _table(("region", "category", "calls"),
                        [(region, category, calls) for (region, category), calls in buckets
                         if category in VAULT_CATEGORIES])
    lines.append("")
    return lines


def render(scenarios: list[ScenarioResult], sizes: Sizes, machine: list[tuple[str, str]],
           load_before: tuple, load_after: tuple, total_seconds: float) -> str:
    lines = [
        "# Benchmarks",
        "",
        "`make bench` (`python -m benchmarks`) measures kms-key-backup against the local OCI KMS emulator "
        "and writes this page. Every scenario runs with the emulator at "
        f"{sizes.latency_ms} ms of latency per API call and {sizes.throttle_rps:g} requests a second per region, "
        f"tenancy and category of call, with new keys and versions CREATING for {sizes.lifecycle_delay_ms} ms. "
        "The runs use the real `oci` SDK over signed HTTP on 127.0.0.1, and the function runs in the real "
        "`fdk` over its unix socket. Each measured run is a child process, so its peak RSS is its own.",
        "",
        "## Machine and versions",
        "",
    ]
    lines += _table(("", ""), machine + [
        ("load average before (1, 5, 15 min)", ", ".join(f"{value:.2f}" for value in load_before)),
        ("load average after (1, 5, 15 min)", ", ".join(f"{value:.2f}" for value in load_after)),
        ("benchmark duration, setup included", f"{total_seconds:.0f} s"),
    ])
    lines += [
        "",
        "## The throttle bound",
        "",
        "OCI Vault allows a tenancy 10 requests a second per category of call: management reads, "
        "management writes and provisioning calls (GetVault, GetVaultUsage), as the docstrings of "
        "`oci` 2.189.0's KMS clients state. They give no limit for ImportKey, ImportKeyVersion, "
        "GetWrappingKey or ExportKey; the emulator and the bound count them as management writes, "
        "management reads and a crypto category of the same 10 requests a second. "
        "The emulator enforces the limit per region too, so the source and target regions have a bucket "
        "each. The throttle bound of a run is the least time those limits allow for the calls it made: "
        "over every region and category, the largest of calls ÷ requests per second. It counts the "
        "calls the emulator answered, 429 answers left out.",
        "",
        "The bound leaves out latency and lifecycle waits. With 100 ms per call, the calls of one key "
        "run one after another, so a key needs at least its number of calls × 100 ms, and only the "
        "engine's concurrency (keys copied at once) overlaps keys. A new key or version is CREATING "
        "for a while: the engine polls it with GetKey or GetKeyVersion, and those polls are counted in "
        "the bound as management reads, but the sleeps between them are not. A ratio near 1 means the "
        "service's limit decides the run's time; a larger ratio means latency, waits or the engine do.",
        "",
        "## Targets",
        "",
    ]
    targets = [target for scenario in scenarios for target in scenario.targets]
    lines += _table(("target", "measured", "result"),
                    [(target.description, target.measured, "met" if target.met else "**missed**")
                     for target in targets])
    lines.append("")
    for scenario in scenarios:
        lines += _scenario_section(scenario)
    return "\n".join(lines).rstrip() + "\n"


def write(path: Path, generated: str) -> None:
    """Write the generated part and keep the part below ``FINDINGS_MARKER`` from the existing file."""
    kept = ""
    if path.exists():
        existing = path.read_text(encoding="utf-8")
        if FINDINGS_MARKER in existing:
            kept = existing.split(FINDINGS_MARKER, 1)[1].lstrip("\n")
    if not kept:
        kept = "## Findings\n\nNo analysis has been written for these results yet.\n"
    path.write_text(f"{generated}\n{FINDINGS_MARKER}\n\n{kept}", encoding="utf-8")


def python_command() -> str:
    return " ".join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]])
