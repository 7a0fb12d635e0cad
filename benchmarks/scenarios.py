"""The benchmark scenarios. Each prepares its vaults untimed, then measures one run in a child process.

Every measured run starts with the emulator at the benchmark's latency and throttle and an
empty call log, and the call log after the run gives the calls per operation and the throttle
bound (``benchmarks.calls``).
"""

from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from kms_emulator.testing import Kms, new_api_key
from kms_key_backup.function.local import LocalFunction

from benchmarks.calls import CallStats, analyse
from benchmarks.harness import REPOSITORY, SOURCE_REGION, TARGET_REGION, BenchEnvironment, VaultPair

MIB = 1024 * 1024
FUNC_PATH = REPOSITORY / "func.py"


def _load_demo():
    """Import scripts/demo.py, whose CloudEvent builder the function scenarios share with ``make demo``."""
    spec = importlib.util.spec_from_file_location("kms_key_backup_demo", REPOSITORY / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Sizes:
    """Sizes and emulator settings of one benchmark run."""

    keys: int = 100
    versions: int = 3
    big_sweep_keys: int = 1000
    baseline_keys: int = 20
    latency_ms: int = 100
    throttle_rps: float = 10.0
    lifecycle_delay_ms: int = 50
    # Draw vault wrapping keys from the emulator's process-wide pool instead of generating an
    # RSA-4096 key per vault; setup only, so it changes no measured number.
    reuse_wrapping_keys: bool = False


FULL = Sizes()
# A few keys and no latency: the smoke test checks that every scenario runs, not its numbers.
SMOKE = Sizes(keys=4, big_sweep_keys=10, baseline_keys=2, latency_ms=0, reuse_wrapping_keys=True)


@dataclass
class Target:
    description: str
    measured: str
    met: bool


@dataclass
class ScenarioResult:
    """The measurements of one scenario, ready for docs/benchmarks.md."""

    key: str
    title: str
    description: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    stats: CallStats | None = None
    per_unit: tuple[str, int] | None = None  # ("key", 100): divide call counts by this for the table
    targets: list[Target] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


def key_mix(count: int, versions: int) -> list[dict]:
    """Return ``count`` seed keys: about 80 % AES-256, 15 % RSA-2048 and 5 % RSA-4096, each with ``versions`` versions.

    Fewer than 20 keys get no RSA-4096 key, whose seeded material takes seconds to generate.
    """
    rsa_4096 = count * 5 // 100
    rsa_2048 = max(1, count * 15 // 100)
    aes = count - rsa_4096 - rsa_2048
    shapes = [("AES", 32)] * aes + [("RSA", 256)] * rsa_2048 + [("RSA", 512)] * rsa_4096
    return [{"display_name": f"{algorithm.lower()}-{length * 8}-{index:04d}", "algorithm": algorithm,
             "length": length, "versions": versions} for index, (algorithm, length) in enumerate(shapes)]


def _shape_summary(pair: VaultPair) -> str:
    counts: dict[str, int] = {}
    for algorithm, length in pair.key_shapes:
        name = f"{algorithm}-{length * 8}"
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _seconds(value: float) -> str:
    return f"{value:.2f} s"


def _mib(value: float) -> str:
    return f"{value / MIB:.1f} MiB"


def _bound_rows(stats: CallStats, wall_seconds: float, rps: float) -> list[tuple[str, str]]:
    region, category = stats.bound_bucket or ("-", "-")
    ratio = wall_seconds / stats.bound_seconds if stats.bound_seconds else float("nan")
    return [
        ("Vault API calls (all answers)", str(stats.vault_calls)),
        ("429 TooManyRequests answers", str(stats.throttled)),
        ("other failed answers", str(stats.failed)),
        ("limiting bucket", f"{category} in {region}: {stats.by_bucket.get(stats.bound_bucket, 0)} calls"),
        ("throttle bound", f"{_seconds(stats.bound_seconds)} ({stats.by_bucket.get(stats.bound_bucket, 0)} ÷ {rps:g}/s)"),
        ("ratio of wall time to bound", f"{ratio:.2f}"),
    ]


def _measured_engine_run(env: BenchEnvironment, name: str, job: dict, sizes: Sizes) -> tuple[dict, CallStats]:
    spec = env.write_spec(name, env.engine_spec(job))
    env.measured()
    result = env.run_child(name, "benchmarks.engine_run", str(spec))
    stats = analyse(env.admin.calls(), sizes.throttle_rps)
    env.unmeasured()
    if result["status"] != "ok":
        raise RuntimeError(f"the {name} run ended {result['status']}, not ok: {result.get('error')}; "
                           f"see {env.work_dir / (name + '.log')}")
    return result, stats


# --- engine scenarios --------------------------------------------------------------------------------


def full_sync(env: BenchEnvironment, sizes: Sizes) -> tuple[ScenarioResult, VaultPair]:
    pair = env.seed_pair(key_mix(sizes.keys, sizes.versions), "sync")
    result, stats = _measured_engine_run(env, "full-sync", pair.job(), sizes)
    versions = result["counts"]["versions_copied"]
    expected = sizes.keys * sizes.versions
    if versions != expected:
        raise RuntimeError(f"the full sync copied {versions} versions, expected {expected}")

    wall = result["wall_seconds"]
    scenario = ScenarioResult(
        key="full_sync", title=f"Full sync, {sizes.keys} keys × {sizes.versions} versions",
        description=(f"The engine copies every version of {sizes.keys} software keys ({_shape_summary(pair)}) "
                     "into an empty target vault, with the job's default options "
                     f"(concurrency {result['concurrency']}, client-side limit {result['requests_per_second']:g} "
                     "requests/s per region and category)."),
        stats=stats, per_unit=("version", versions), raw={"result": result, "versions": versions})
    scenario.rows = [("wall time (run_job)", _seconds(wall)), ("versions copied", str(versions)),
                     ("wall time per copied version", _seconds(wall / versions)),
                     *_bound_rows(stats, wall, sizes.throttle_rps),
                     ("peak RSS of the engine process", _mib(result["peak_rss_bytes"]))]
    ratio = wall / stats.bound_seconds
    scenario.targets.append(Target("full sync ≤ 1.2 × the throttle bound", f"{ratio:.2f} ×", ratio <= 1.2))
    return scenario, pair


def noop_sweep(env: BenchEnvironment, sizes: Sizes, pair: VaultPair, key: str, title: str,
               rss_limit_bytes: int | None = None) -> ScenarioResult:
    result, stats = _measured_engine_run(env, key.replace("_", "-"), pair.job(), sizes)
    keys = len(pair.key_ids)
    if result["counts"]["versions_copied"] != 0:
        raise RuntimeError(f"the {title} copied {result['counts']['versions_copied']} versions, expected 0")

    wall = result["wall_seconds"]
    source_reads = stats.source_reads(SOURCE_REGION)
    exports = stats.calls_of("ExportKey")
    scenario = ScenarioResult(
        key=key, title=title,
        description=(f"The engine sweeps {keys} source keys ({_shape_summary(pair)}) whose copies are all "
                     "current, with the job's default options."),
        stats=stats, per_unit=("key", keys), raw={"result": result})
    scenario.rows = [("wall time (run_job)", _seconds(wall)),
                     ("source read calls (management reads and provisioning in the source region)", str(source_reads)),
                     ("source read calls per key", f"{source_reads / keys:.3f}"),
                     ("ExportKey calls", str(exports)),
                     *_bound_rows(stats, wall, sizes.throttle_rps),
                     ("peak RSS of the engine process", _mib(result["peak_rss_bytes"]))]
    if rss_limit_bytes is None:
        scenario.targets.append(Target("no-op sweep ≤ 1.1 source read calls per key",
                                       f"{source_reads / keys:.3f}", source_reads / keys <= 1.1))
        scenario.targets.append(Target("no-op sweep makes 0 exports", str(exports), exports == 0))
    else:
        scenario.targets.append(Target(f"{keys}-key no-op sweep < {rss_limit_bytes // MIB} MB RSS",
                                       _mib(result["peak_rss_bytes"]), result["peak_rss_bytes"] < rss_limit_bytes))
    return scenario


def big_noop_sweep(env: BenchEnvironment, sizes: Sizes) -> ScenarioResult:
    keys = [{"display_name": f"aes-256-{index:04d}", "algorithm": "AES", "length": 32, "versions": 1}
            for index in range(sizes.big_sweep_keys)]
    pair = env.seed_pair_with_copies(keys, "sweep")
    return noop_sweep(env, sizes, pair, "big_noop_sweep", f"No-op sweep, {sizes.big_sweep_keys:,} keys",
                      rss_limit_bytes=200 * MIB)


# --- function scenarios ------------------------------------------------------------------------------


class FunctionSetup:
    """The environment OCI Functions would give the function, as a resource principal of the main tenancy."""

    def __init__(self, env: BenchEnvironment, pair: VaultPair):
        self.env = env
        self.pair = pair
        self.demo = _load_demo()

        session_key = new_api_key()
        ids = env.world.main
        function_id = f"ocid1.fnfunc.oc1.{SOURCE_REGION}.bench{int(time.time())}"
        secrets = env.work_dir / "resource-principal"
        secrets.mkdir(mode=0o700, exist_ok=True)
        token_path = secrets / "rpst"
        token_path.write_text(env.admin.resource_principal_token(ids.tenancy_id, ids.compartment_id, function_id,
                                                                 session_key.public_pem))
        key_path = secrets / "private.pem"
        key_path.write_text(session_key.private_pem)
        key_path.chmod(0o600)

        self.environment = {
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(REPOSITORY),
            "HOME": str(env.work_dir),
            "OCI_RESOURCE_PRINCIPAL_VERSION": "2.2",
            "OCI_RESOURCE_PRINCIPAL_RPST": str(token_path),
            "OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM": str(key_path),
            "OCI_RESOURCE_PRINCIPAL_REGION": SOURCE_REGION,
            "KMS_BACKUP_SOURCE_REGION": SOURCE_REGION,
            "KMS_BACKUP_SOURCE_VAULT_ID": pair.source_vault_id,
            "KMS_BACKUP_TARGETS": json.dumps([{"region": TARGET_REGION, "vault_id": pair.target_vault_id,
                                               "compartment_id": pair.target_compartment_id}]),
            "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE": env.server.kms_endpoint_template,
            "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE": env.server.telemetry_endpoint_template,
        }
        self.kms = Kms(env.server, env.oci_config)
        self.source_vault = self.kms.vault_client(SOURCE_REGION).get_vault(pair.source_vault_id).data
        self._started = 0

    def start(self) -> tuple[LocalFunction, float]:
        """Start a fresh fdk process (a new container) and return it with the seconds until it served."""
        self._started += 1
        function = LocalFunction(FUNC_PATH, self.environment, self.env.work_dir / f"fdk-{self._started}")
        started = time.perf_counter()
        function.start()
        return function, time.perf_counter() - started

    def rotate(self, key_id: str) -> str:
        """Create a key version as an operator would, untimed, and return its OCID once ENABLED."""
        self.env.unmeasured()
        return self.kms.rotate(self.source_vault, key_id).id

    def current_version(self, key_id: str) -> str:
        with self.env.server.state.lock:
            return self.env.server.state.vaults[self.pair.source_vault_id].keys[key_id].current_version_id

    def event(self, key_id: str, key_version_id: str) -> dict:
        return self.demo.rotated_key_event(key_id, key_version_id, self.env.world.main.compartment_id)


def _peak_rss_of(pid: int) -> int:
    """Return a live process's peak resident set (VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/{pid}/status has no VmHWM line")


def _invoke_measured(setup: FunctionSetup, function: LocalFunction, body: dict, sizes: Sizes):
    setup.env.measured()
    call = function.invoke(body, deadline_seconds=300)
    stats = analyse(setup.env.admin.calls(), sizes.throttle_rps)
    setup.env.unmeasured()
    document = call.json()
    if call.status != 200 or document.get("status") != "ok":
        raise RuntimeError(f"the function returned HTTP {call.status} with status {document.get('status')}: "
                           f"{document.get('error')}; see {function.stderr_path}")
    return call, document, stats


def rotation_events(env: BenchEnvironment, sizes: Sizes, pair: VaultPair) -> list[ScenarioResult]:
    """Rotate one key and send its CloudEvent, to a fresh container and then to a warm one."""
    setup = FunctionSetup(env, pair)
    key_id = pair.key_ids[0]
    function, _ = setup.start()
    results = []
    try:
        for container in ("fresh", "warm"):
            version_id = setup.rotate(key_id)
            call, document, stats = _invoke_measured(setup, function, setup.event(key_id, version_id), sizes)
            copied = document.get("counts", {}).get("versions_copied")
            if copied != 1:
                raise RuntimeError(f"the rotation event copied {copied} versions, expected 1")
            monitoring = stats.total - stats.vault_calls
            scenario = ScenarioResult(
                key=f"rotation_{container}", title=f"One key rotated: CloudEvent to a {container} container",
                description=("An operator creates a key version; the function receives the "
                             "createkeyversion.end CloudEvent through fdk on its unix socket, signed as a "
                             "resource principal, and copies the one new version. "
                             + ("The container is new: its first invocation, so the vault records, the "
                                "wrapping key and the clients are not cached yet."
                                if container == "fresh" else
                                "The container served the previous event, so vault records, the wrapping key "
                                "and the clients come from its caches.")),
                stats=stats, per_unit=("event", 1), raw={"elapsed": call.elapsed_seconds})
            scenario.rows = [("invocation time (POST /call to response)", _seconds(call.elapsed_seconds)),
                             ("Vault API calls", str(stats.vault_calls)),
                             ("Monitoring PostMetricData calls", str(monitoring)),
                             *_bound_rows(stats, call.elapsed_seconds, sizes.throttle_rps)[1:],
                             ("peak RSS of the fdk process so far", _mib(_peak_rss_of(function.pid)))]
            # The target counts Vault calls, which the Vault limits throttle; the run's one
            # Monitoring call is shown beside them.
            scenario.targets.append(Target(f"rotation event ({container} container) ≤ 8 Vault API calls",
                                           f"{stats.vault_calls} (+ {monitoring} PostMetricData)",
                                           stats.vault_calls <= 8))
            scenario.targets.append(Target(f"rotation event ({container} container) ≤ 1.5 s",
                                           _seconds(call.elapsed_seconds), call.elapsed_seconds <= 1.5))
            results.append(scenario)
    finally:
        function.stop()
    return results


def cold_start(env: BenchEnvironment, sizes: Sizes, pair: VaultPair) -> ScenarioResult:
    """Measure importing func.py in a fresh process, and a fresh fdk's first invocation against its second."""
    imported = env.run_child("import-func", "benchmarks.import_func", str(FUNC_PATH))

    setup = FunctionSetup(env, pair)
    key_id = pair.key_ids[-1]
    body = setup.event(key_id, setup.current_version(key_id))
    function, ready_seconds = setup.start()
    try:
        first, _, first_stats = _invoke_measured(setup, function, body, sizes)
        second, _, second_stats = _invoke_measured(setup, function, body, sizes)
        peak_rss = _peak_rss_of(function.pid)
    finally:
        function.stop()

    overhead = first.elapsed_seconds - second.elapsed_seconds
    extra_calls = first_stats.total - second_stats.total
    scenario = ScenarioResult(
        key="cold_start", title="Cold start",
        description=("`func.py` is imported in a fresh Python process, as fdk imports it on the first call. "
                     "Then a fresh fdk process receives the same CloudEvent twice: a createkeyversion.end "
                     "event for a key whose copy is current, so both runs read the key and copy nothing. "
                     "The first invocation's overhead is its time less the second's; it includes the calls "
                     "that fill the container's caches (vault records, wrapping key)."),
        stats=first_stats, per_unit=("invocation", 1),
        raw={"import": imported, "overhead": overhead, "rss": peak_rss})
    scenario.rows = [
        ("import of func.py in a fresh process", _seconds(imported["import_seconds"])),
        ("peak RSS after the import", _mib(imported["peak_rss_bytes"])),
        ("fdk start until its socket is linked (before func.py is imported)", _seconds(ready_seconds)),
        ("first invocation (imports func.py, builds signer and clients)", _seconds(first.elapsed_seconds)),
        ("second invocation, same event", _seconds(second.elapsed_seconds)),
        ("first-invocation overhead (first − second)", _seconds(overhead)),
        ("API calls: first, second invocation", f"{first_stats.total}, {second_stats.total}"),
        (f"of the overhead, calls that fill caches ({extra_calls} × {sizes.latency_ms} ms latency)",
         _seconds(extra_calls * sizes.latency_ms / 1000)),
        ("peak RSS of the fdk process", _mib(peak_rss)),
    ]
    scenario.targets.append(Target("cold start (first-invocation overhead) < 0.5 s", _seconds(overhead), overhead < 0.5))
    scenario.targets.append(Target("cold start < 120 MB RSS (fdk process)", _mib(peak_rss), peak_rss < 120 * MIB))
    return scenario


# --- baseline ----------------------------------------------------------------------------------------


def baseline(env: BenchEnvironment, sizes: Sizes, pair: VaultPair, sync: ScenarioResult) -> ScenarioResult:
    """Copy a sample of the keys one process per key, current version only, and compare per copied version."""
    step = max(1, len(pair.key_ids) // sizes.baseline_keys)
    sample = list(range(0, len(pair.key_ids), step))[:sizes.baseline_keys]
    target_vault_id = env.add_vault(TARGET_REGION, "baseline-target")
    spec = env.write_spec("baseline", {
        "oci_config": env.oci_config, "kms_endpoint_template": env.server.kms_endpoint_template,
        "source_region": SOURCE_REGION, "target_region": TARGET_REGION, "source_vault_id": pair.source_vault_id,
        "target_vault_id": target_vault_id, "target_compartment_id": pair.target_compartment_id})

    env.measured()
    started = time.perf_counter()
    peak_rss = 0
    for index in sample:
        copied = env.run_child("baseline", "benchmarks.baseline", str(spec), pair.key_ids[index])
        peak_rss = max(peak_rss, copied["peak_rss_bytes"])
    wall = time.perf_counter() - started
    stats = analyse(env.admin.calls(), sizes.throttle_rps)
    env.unmeasured()

    versions = len(sample)
    imports = stats.calls_of("ImportKey")
    if imports != versions:
        raise RuntimeError(f"the baseline made {imports} ImportKey calls for {versions} keys")
    shapes = [pair.key_shapes[index] for index in sample]
    sample_pair = VaultPair(pair.source_vault_id, target_vault_id, pair.target_compartment_id,
                            [pair.key_ids[index] for index in sample], shapes)
    per_version = wall / versions
    sync_per_version = sync.raw["result"]["wall_seconds"] / sync.raw["versions"]
    speedup = per_version / sync_per_version
    scenario = ScenarioResult(
        key="baseline", title=f"Baseline: one process per key, current version only ({versions} keys)",
        description=(f"`benchmarks/baseline.py` copies {versions} of the full sync's source keys "
                     f"({_shape_summary(sample_pair)}; one key in {step}) into an empty vault. It starts one "
                     "process per key, one after another, as a loop over the original script would. Each calls "
                     "get_vault twice, get_wrapping_key, get_key, export_key of the current version and "
                     "import_key. It does "
                     "not wait for the new key, so it is as fast as such a script can be. Wall time includes "
                     "each process's interpreter start and imports."),
        stats=stats, per_unit=("key", versions), raw={"wall": wall})
    scenario.rows = [("wall time, all processes", _seconds(wall)), ("versions copied", str(versions)),
                     ("wall time per copied version", _seconds(per_version)),
                     ("full sync wall time per copied version", _seconds(sync_per_version)),
                     ("full sync speed-up per copied version", f"{speedup:.1f} ×"),
                     *_bound_rows(stats, wall, sizes.throttle_rps),
                     ("peak RSS, largest of the baseline processes", _mib(peak_rss))]
    scenario.targets.append(Target("full sync ≥ 10× faster per copied version than the baseline",
                                   f"{speedup:.1f} ×", speedup >= 10))
    return scenario
