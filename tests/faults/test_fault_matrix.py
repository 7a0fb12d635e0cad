"""The engine under faults: every injected failure ends in a converged copy or a `partial` report with reasons.

Invariants asserted in every scenario: run_job returns a report instead of raising, no
CircuitBreakerError reaches the report, and the target never contains a duplicate key or version.
Each scenario states its expected outcome in its docstring.
"""

from __future__ import annotations

import threading
import time

import oci
import pytest

from kms_key_backup.clients import list_all

from fault_helpers import (SOURCE_REGION, TARGET_REGION, duplicate_problems, escaped_circuit_breaker, no_retry_strategy,
                           seed_pair)

pytestmark = pytest.mark.oci_verified


@pytest.fixture
def pair(emulator, world, oci_config):
    return seed_pair(emulator, world, oci_config)


@pytest.fixture
def new_pair(emulator, world, oci_config):
    """Return a function that seeds a fresh source vault; every source shares one target vault."""
    first = seed_pair(emulator, world, oci_config)
    return lambda: seed_pair(emulator, world, oci_config, target=first)


def _assert_no_duplicates(pair) -> None:
    assert duplicate_problems(pair.emulator, pair.source_vault_id, pair.target_vault_id) == []


def test_abort_after_every_call_then_rerun_converges(new_pair, emulator):
    """Expected: for every k, a run cut off after API call k, with the write of call k done but
    unanswered, leaves no duplicate, and the next run converges to an exact copy."""
    clean = new_pair()
    clean.admin.clear_calls()
    assert clean.sync()["status"] == "ok"
    total_calls = len(clean.admin.calls())
    assert total_calls > 10

    for k in range(1, total_calls + 1):
        pair = new_pair()
        pair.admin.clear_faults()
        # Call k runs but its response is lost, as when the process dies right after sending it.
        # Every later call is dropped before it runs.
        pair.admin.add_fault("*", nth=k, action="drop_after")
        pair.admin.add_fault("*", nth=k + 1, times=100_000, action="drop")

        aborted = pair.sync(pair.factory(retry_strategy=no_retry_strategy()))
        pair.admin.clear_faults()

        assert aborted["status"] in ("partial", "failed"), k
        assert not escaped_circuit_breaker(aborted), k
        _assert_no_duplicates(pair)
        rerun = pair.sync()
        assert rerun["status"] == "ok", (k, rerun.get("error"), rerun["keys"])
        assert pair.copy_problems() == [], k


def test_failed_list_call_is_tried_once(pair):
    """Expected: with a one-attempt strategy, a dropped list_keys fails the run after one attempt,
    because no pagination helper adds its own retries around the client's strategy."""
    pair.admin.add_fault("ListKeys", times=100, action="drop")

    report = pair.sync(pair.factory(retry_strategy=no_retry_strategy()))

    assert report["status"] == "failed"
    assert report["error"]["step"] == "inventory"
    assert len([c for c in pair.admin.calls() if c["operation"] == "ListKeys"]) == 1
    assert [c for c in pair.admin.calls() if c["write"]] == []


def test_list_all_follows_every_page(pair):
    """Expected: list_all follows opc-next-page until the last page, one call per page."""
    factory = pair.factory()
    vault = factory.get_vault(SOURCE_REGION, pair.source_vault_id)
    pair.admin.clear_calls()

    summaries = list_all(factory.management_client(vault).list_keys, vault.compartment_id, limit=1)

    assert sorted(summary.id for summary in summaries) == sorted(pair.key_ids)
    # The last page may or may not carry opc-next-page, so the call count is one per key, plus one
    # for an empty last page.
    assert len([c for c in pair.admin.calls() if c["operation"] == "ListKeys"]) in (len(pair.key_ids),
                                                                                   len(pair.key_ids) + 1)


def test_throttling_storm_converges(pair):
    """Expected: 429 on the first five calls of every operation is retried; the copy converges."""
    for operation in ("GetVault", "ListKeys", "ListKeyVersions", "ExportKey", "ImportKey", "ImportKeyVersion",
                      "UpdateKey"):
        pair.admin.add_fault(operation, nth=1, times=5, status=429, code="TooManyRequests",
                             message="Too many requests for the tenancy")

    report = pair.sync()

    assert report["status"] == "ok", report.get("error")
    assert pair.copy_problems() == []
    assert not escaped_circuit_breaker(report)
    assert len([c for c in pair.admin.calls() if c["status"] == 429]) == 35


def test_server_error_burst_converges(pair):
    """Expected: a burst of 500, 502 and 503 responses on writes and exports is retried, so the copy converges."""
    for status, code in ((500, "InternalServerError"), (502, "BadGateway"), (503, "ServiceUnavailable")):
        pair.admin.add_fault("ImportKeyVersion", nth=1, status=status, code=code)
        pair.admin.add_fault("ExportKey", nth=2, status=status, code=code)
    pair.admin.add_fault("ImportKey", nth=1, times=3, status=503, code="ServiceUnavailable")

    report = pair.sync()

    assert report["status"] == "ok", report.get("error")
    assert pair.copy_problems() == []


def test_server_errors_past_retries_are_partial(pair, emulator):
    """Expected: an import that fails on every attempt leaves its key failed with the reason and the
    other keys copied; the next run converges."""
    rsa_key_id = pair.key_ids[2]
    pair.admin.add_fault("ImportKey", times=100, status=503, code="ServiceUnavailable", key_id=None)
    pair.admin.clear_faults()
    pair.admin.add_fault("ExportKey", times=100, status=500, code="InternalServerError", key_id=rsa_key_id)

    report = pair.sync()
    pair.admin.clear_faults()

    assert report["status"] == "partial"
    failed = {k["source_key_id"]: k for k in report["keys"] if k.get("error") or
              any(t.get("error") for t in k["targets"])}
    assert list(failed) == [rsa_key_id]
    assert "InternalServerError" in repr(failed[rsa_key_id])
    _assert_no_duplicates(pair)
    assert pair.sync()["status"] == "ok"
    assert pair.copy_problems() == []


def test_dropped_connections_converge(pair):
    """Expected: connections closed before a call and after a write (response lost) are retried with
    the same opc-retry-token, so the retried import returns the first result and nothing is duplicated."""
    pair.admin.add_fault("ExportKey", nth=1, times=2, action="drop")
    pair.admin.add_fault("ImportKey", nth=1, action="drop_after")
    pair.admin.add_fault("ImportKeyVersion", nth=1, action="drop_after")
    pair.admin.add_fault("UpdateKey", nth=1, action="drop_after")

    report = pair.sync()

    assert report["status"] == "ok", report.get("error")
    assert pair.copy_problems() == []
    imports = [c for c in pair.admin.calls() if c["operation"] in ("ImportKey", "ImportKeyVersion")]
    assert len([c for c in imports if c["status"] == 0]) == 2


def test_stall_past_client_timeout_converges(pair):
    """Expected: calls stalled past the client's read timeout are retried.

    A stalled import that runs late gets its result from its retry token, so there is no duplicate."""
    pair.admin.add_fault("ExportKey", nth=1, action="stall", stall_seconds=1.5)
    pair.admin.add_fault("ImportKey", nth=1, action="stall", stall_seconds=1.5)
    factory = pair.factory()
    factory_client_kwargs = factory._client_kwargs
    # A short read timeout makes a 1.5 s stall a timeout; production keeps the SDK's 60 s default.
    factory._client_kwargs = lambda region, categorize: {**factory_client_kwargs(region, categorize),
                                                        "timeout": (2.0, 0.5)}

    report = pair.sync(factory)
    time.sleep(1.6)  # let the stalled calls finish on the server before checking for duplicates

    assert report["status"] == "ok", report.get("error")
    assert pair.copy_problems() == []


def test_unauthenticated_once_is_reported(pair):
    """Expected: a 401 is not retried with an API key (only token signers refresh), so the run fails
    in preflight with the reason, writes nothing, and the next run converges."""
    pair.admin.add_fault("GetVault", nth=1, status=401, code="NotAuthenticated", message="token expired")

    report = pair.sync()

    assert report["status"] == "failed"
    assert "NotAuthenticated" in repr(report["error"])
    assert [c for c in pair.admin.calls() if c["write"]] == []
    assert pair.sync()["status"] == "ok"
    assert pair.copy_problems() == []


def test_unauthenticated_mid_run_is_partial(pair):
    """Expected: 401 on two exports fails those keys with NotAuthenticated; the rest are copied and
    the next run converges."""
    pair.admin.add_fault("ExportKey", nth=1, times=2, status=401, code="NotAuthenticated")

    report = pair.sync(concurrency=1)

    assert report["status"] in ("partial", "failed")
    assert "NotAuthenticated" in repr(report["keys"])
    _assert_no_duplicates(pair)
    assert pair.sync()["status"] == "ok"
    assert pair.copy_problems() == []


def test_incorrect_state_while_creating_is_retried(pair):
    """Expected: 409 IncorrectState (the new copy still CREATING) on a version import and on the tag
    update is retried; the copy converges."""
    pair.admin.add_fault("ImportKeyVersion", nth=1, times=2, status=409, code="IncorrectState",
                         message="Key is CREATING")
    pair.admin.add_fault("UpdateKey", nth=1, status=409, code="IncorrectState", message="Key is CREATING")

    report = pair.sync()

    assert report["status"] == "ok", report.get("error")
    assert pair.copy_problems() == []


def test_overlapping_runs_make_no_duplicate(pair):
    """Expected: two runs of the same job at once both finish with one copy per key.

    Deterministic retry tokens make the second run's imports return the first run's results. A
    third run is a no-op that confirms an exact copy."""
    pair.admin.update_settings(latency_ms=5)
    reports = []

    def run():
        reports.append(pair.sync())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(reports) == 2
    assert all(not escaped_circuit_breaker(report) for report in reports)
    _assert_no_duplicates(pair)
    final = pair.sync()
    assert final["status"] == "ok"
    assert pair.copy_problems() == []


def test_target_vault_deleted_mid_run_is_reported(pair, oci_config):
    """Expected: once the target vault leaves ACTIVE, the remaining imports fail with 409.

    The report is partial or failed with that reason, nothing is duplicated and no exception escapes."""
    vault_client = oci.key_management.KmsVaultClient(
        oci_config, service_endpoint=pair.emulator.kms_endpoint_template.format(region=TARGET_REGION),
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy())
    deleted = threading.Event()

    def delete_after_first_import():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not deleted.is_set():
            if any(c["operation"] == "ImportKey" and c["status"] == 200 for c in pair.admin.calls()):
                vault_client.schedule_vault_deletion(pair.target_vault_id,
                                                     oci.key_management.models.ScheduleVaultDeletionDetails())
                deleted.set()
            time.sleep(0.005)

    watcher = threading.Thread(target=delete_after_first_import)
    pair.admin.update_settings(latency_ms=20)
    watcher.start()
    report = pair.sync(concurrency=1)
    watcher.join(timeout=40)

    assert deleted.is_set()
    assert report["status"] in ("partial", "failed")
    assert "IncorrectState" in repr(report)
    assert not escaped_circuit_breaker(report)
    _assert_no_duplicates(pair)
