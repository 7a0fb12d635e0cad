"""The engine against the emulator: what a sync copies, skips, verifies and costs."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import time

import oci
import pytest

from engine_helpers import (COPYABLE, NOT_COPYABLE, SOURCE_REGION, copies_by_source, exact_copy_problems,
                            export_and_import_calls, fast_retry_strategy, make_job_data, make_vaults,
                            seed_acceptance_keys)
from kms_emulator import EmulatorServer
from kms_emulator.testing import make_oci_config
from kms_key_backup.cli import EXIT_PARTIAL, main
from kms_key_backup.clients import ClientFactory
from kms_key_backup.copy import RunContext
from kms_key_backup.engine import run_job
from kms_key_backup.job import parse_job
from kms_key_backup.plan import TAG_SOURCE_REGION

pytestmark = pytest.mark.oci_verified


@dataclasses.dataclass
class Synced:
    """The acceptance scenario after `kms-key-backup sync` and a second, no-op sync."""

    emulator: EmulatorServer
    vaults: object
    keys: dict
    first: dict
    first_exit_code: int
    second: dict
    second_exit_code: int
    second_calls: list


def _cli_sync(argv: list[str]) -> tuple[int, dict]:
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        exit_code = main(argv)
    return exit_code, json.loads(stdout.getvalue())


@pytest.fixture(scope="module")
def synced(world, tmp_path_factory):
    directory = tmp_path_factory.mktemp("synced")
    with EmulatorServer(host="127.0.0.1", port=0, seed=world.seed(), lifecycle_delay_ms=20) as emulator:
        oci_config = make_oci_config(world, directory)
        vaults = make_vaults(emulator, oci_config, world)
        keys = seed_acceptance_keys(vaults)
        config_file = directory / "oci_config"
        config_file.write_text("[DEFAULT]\n" + "".join(f"{name}={value}\n" for name, value in oci_config.items()))
        job_file = directory / "job.json"
        job_file.write_text(json.dumps(make_job_data(vaults)))
        argv = ["sync", "--job", str(job_file), "--config-file", str(config_file), "--output", "json"]

        with pytest.MonkeyPatch.context() as monkeypatch:
            monkeypatch.setenv("KMS_BACKUP_KMS_ENDPOINT_TEMPLATE", emulator.kms_endpoint_template)
            first_exit_code, first = _cli_sync(argv)
            vaults.kms.admin.clear_calls()
            second_exit_code, second = _cli_sync(argv)
        yield Synced(emulator, vaults, keys, first, first_exit_code, second, second_exit_code,
                     vaults.kms.admin.calls())


def _ids(keys, names):
    return [keys[name].id for name in names]


def test_sync_copies_every_copyable_version(synced):
    problems = exact_copy_problems(synced.emulator, synced.vaults.source.id, synced.vaults.target.id,
                                   _ids(synced.keys, COPYABLE))

    assert problems == []


def test_sync_exits_with_partial_code(synced):
    assert synced.first_exit_code == EXIT_PARTIAL
    assert synced.second_exit_code == EXIT_PARTIAL


def test_sync_counts_copied_and_verified_versions(synced):
    counts = synced.first["counts"]

    assert counts["versions_copied"] == 11
    assert counts["versions_verified"] == 11
    assert counts["keys_created"] == 5
    assert synced.first["status"] == "partial"


def test_sync_verifies_rsa_by_public_key(synced):
    rsa_versions = [v for k in synced.first["keys"] if k["algorithm"] == "RSA" for t in k["targets"]
                    for v in t["versions_copied"]]

    assert len(rsa_versions) == 4
    assert {v["verification"] for v in rsa_versions} == {"rsa_public_key_equal"}
    assert all(v["verified"] for v in rsa_versions)


def test_sync_reports_uncopyable_keys_with_reasons(synced):
    reasons = {k["display_name"]: k["reason"] for k in synced.first["unsupported"]}

    assert set(reasons) == set(NOT_COPYABLE)
    assert "HSM" in reasons["hsm"]
    assert "ECDSA" in reasons["ecdsa"]
    assert "DISABLED" in reasons["disabled"]


def test_sync_copies_no_uncopyable_key(synced):
    copies = copies_by_source(synced.emulator, synced.vaults.source.id, synced.vaults.target.id)

    assert not set(copies) & set(_ids(synced.keys, NOT_COPYABLE))


def test_second_sync_makes_no_export_or_import(synced):
    writes = [c for c in synced.second_calls if c["write"] or c["operation"] == "ExportKey"]

    assert writes == []
    assert synced.second["counts"]["keys_current"] == len(COPYABLE)
    assert synced.second["status"] == "partial"  # the HSM, ECDSA and DISABLED keys are still reported


def test_noop_sweep_source_reads_per_key(synced):
    source_reads = [c for c in synced.second_calls if c["region"] == SOURCE_REGION and not c["write"]]

    assert len(source_reads) <= 1.1 * len(synced.keys)


def test_report_is_json_serializable(synced):
    assert json.loads(json.dumps(synced.first)) == synced.first


# --- scenarios that change the vaults --------------------------------------------------------------

def test_copy_carries_provenance_and_source_tags(vaults, factory, job, emulator):
    tagged = vaults.kms.create_key(vaults.source, vaults.compartment_id, name="tagged", tags={"team": "payments"})

    run_job(job, factory)

    copy = copies_by_source(emulator, vaults.source.id, vaults.target.id)[tagged.id][0]
    assert copy.freeform_tags["team"] == "payments"
    assert copy.freeform_tags[TAG_SOURCE_REGION] == SOURCE_REGION
    assert copy.display_name == "tagged"
    assert copy.protection_mode == "SOFTWARE"


def test_new_source_version_is_imported_once(vaults, small_keys, factory, job, emulator):
    run_job(job, factory)
    vaults.kms.rotate(vaults.source, small_keys["aes-2"].id)
    vaults.kms.admin.clear_calls()

    data = run_job(job, factory).to_dict()

    imports = [c for c in vaults.kms.admin.calls() if c["operation"] == "ImportKeyVersion"]
    assert len(imports) == 1
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id,
                               [k.id for k in small_keys.values()]) == []
    actions = {k["display_name"]: k["targets"][0]["action"] for k in data["keys"]}
    assert actions == {"aes-2": "import_versions", "rsa-3": "nothing"}


def test_one_key_rotation_call_count(vaults, small_keys, factory, job_data):
    job = parse_job({**job_data, "selection": {"key_ids": [small_keys["aes-2"].id]}})
    run_job(job, factory)
    vaults.kms.rotate(vaults.source, small_keys["aes-2"].id)
    vaults.kms.admin.clear_calls()

    report = run_job(job, factory)

    assert report.status == "ok"
    assert len(vaults.kms.admin.calls()) <= 8


def test_plan_makes_no_writes(vaults, small_keys, factory, job_data):
    job = parse_job({**job_data, "options": {**job_data["options"], "dry_run": True}})
    vaults.kms.admin.clear_calls()

    data = run_job(job, factory).to_dict()

    assert [c for c in vaults.kms.admin.calls() if c["write"] or c["operation"] == "ExportKey"] == []
    assert data["counts"]["versions_planned"] == 5
    assert data["dry_run"] is True


def test_current_mode_copies_only_current_version(vaults, small_keys, factory, job_data, emulator):
    job = parse_job({**job_data, "versions": {"mode": "current"}})

    run_job(job, factory)

    copy = copies_by_source(emulator, vaults.source.id, vaults.target.id)[small_keys["rsa-3"].id][0]
    assert len(copy.versions) == 1


def test_explicit_mode_copies_listed_versions(vaults, small_keys, factory, job_data):
    key_id = small_keys["rsa-3"].id
    versions = vaults.kms.management(vaults.source).list_key_versions(key_id).data
    chosen = sorted(versions, key=lambda v: v.time_created)[1].id
    job = parse_job({**job_data, "selection": {"key_ids": [key_id]},
                     "versions": {"mode": "explicit", "version_ids": [chosen]}})

    data = run_job(job, factory).to_dict()

    assert [v["source_key_version_id"] for v in data["keys"][0]["targets"][0]["versions_copied"]] == [chosen]


def test_rejected_rsa_version_import_reports_partial(vaults, small_keys, factory, job, emulator):
    vaults.kms.admin.update_settings(reject_rsa_import_key_version=True)

    data = run_job(job, factory).to_dict()

    rsa = next(k for k in data["keys"] if k["display_name"] == "rsa-3")["targets"][0]
    assert rsa["error"]["operation"] == "import_key_version"
    assert rsa["error"]["status"] == 400
    assert rsa["error"]["opc_request_id"]
    assert len(rsa["versions_copied"]) == 1
    assert data["status"] == "partial"
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, [small_keys["aes-2"].id]) == []


def test_deep_verify_compares_material(vaults, small_keys, factory, job_data):
    job = parse_job({**job_data, "options": {**job_data["options"], "deep_verify": True}})

    data = run_job(job, factory).to_dict()

    copied = [v for k in data["keys"] for t in k["targets"] for v in t["versions_copied"]]
    assert len(copied) == 5
    assert {v["verification"] for v in copied} == {"deep_digest_equal"}
    assert all(v["verified"] for v in copied)


def test_errors_past_circuit_breaker_limit_are_retried(vaults, small_keys, factory, job, emulator):
    # Twelve failures, more than the SDK's default circuit breaker tolerates (10), and at most
    # three in a row for any one call, which the retry strategy absorbs.
    admin = vaults.kms.admin
    admin.add_fault("GetKey", nth=1, times=3, status=429, code="TooManyRequests")
    admin.add_fault("ListKeyVersions", nth=1, times=3, status=503, code="ServiceUnavailable")
    admin.add_fault("ExportKey", nth=2, times=3, status=500, code="InternalServerError")
    admin.add_fault("ImportKeyVersion", nth=1, times=3, status=409, code="IncorrectState")

    report = run_job(job, factory)

    assert report.to_dict()["counts"]["keys_failed"] == 0
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id,
                               [k.id for k in small_keys.values()]) == []
    failed_calls = [c for c in admin.calls() if c["status"] in (409, 429, 500, 503)]
    assert len(failed_calls) == 12


def test_lost_import_response_creates_no_duplicate(vaults, small_keys, factory, job, emulator):
    # The service runs the call, the response never arrives, and the SDK retries with the same token.
    vaults.kms.admin.add_fault("ImportKey", nth=1, action="drop_after")
    vaults.kms.admin.add_fault("ImportKeyVersion", nth=1, action="drop_after")

    run_job(job, factory)

    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id,
                               [k.id for k in small_keys.values()]) == []


def test_expired_deadline_starts_nothing(vaults, small_keys, factory, job, emulator):
    vaults.kms.create_key(vaults.source, vaults.compartment_id, algorithm="AES", length=32,
                          protection_mode="HSM", name="hsm")

    data = run_job(job, factory, deadline=time.monotonic()).to_dict()

    assert export_and_import_calls(vaults.kms.admin) == []
    assert data["status"] == "partial"
    assert data["deadline_reached"] is True
    assert len(data["keys_left"]) == 2
    assert len(data["unsupported"]) == 1
    run_job(job, factory)
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id,
                               [k.id for k in small_keys.values()]) == []


def test_deadline_between_versions_leaves_the_rest(vaults, small_keys, factory, job_data, emulator, monkeypatch):
    job = parse_job({**job_data, "selection": {"key_ids": [small_keys["rsa-3"].id]}})
    # The deadline check runs once before the key and once before each version, so the third
    # check falls after one version is copied.
    checks = []

    def deadline_reached(self):
        checks.append(1)
        return len(checks) >= 3

    monkeypatch.setattr(RunContext, "deadline_reached", deadline_reached)
    data = run_job(job, factory).to_dict()
    monkeypatch.undo()

    target = data["keys"][0]["targets"][0]
    assert len(target["versions_copied"]) == 1
    assert len(target["versions_left"]) == 2
    assert data["status"] == "partial"
    assert data["deadline_reached"] is True
    assert run_job(job, factory).status == "ok"
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, [small_keys["rsa-3"].id]) == []


def test_missing_target_vault_fails_preflight_without_export(vaults, small_keys, factory, job_data):
    missing = vaults.target.id[:-6] + "zzzzzz"
    job = parse_job({**job_data, "targets": [{**job_data["targets"][0], "vault_id": missing}]})

    data = run_job(job, factory).to_dict()

    assert data["status"] == "failed"
    assert data["error"]["step"] == "preflight"
    assert missing in data["error"]["message"]
    assert export_and_import_calls(vaults.kms.admin) == []


def test_target_vault_not_active_fails_preflight(vaults, small_keys, emulator, oci_config, job):
    vault_client = vaults.kms.vault_client("eu-stockholm-1")
    vault_client.schedule_vault_deletion(vaults.target.id, oci.key_management.models.ScheduleVaultDeletionDetails())
    factory = ClientFactory(oci_config, kms_endpoint_template=emulator.kms_endpoint_template,
                            retry_strategy=fast_retry_strategy())

    data = run_job(job, factory).to_dict()

    assert data["status"] == "failed"
    assert "not ACTIVE" in data["error"]["message"]
    assert export_and_import_calls(vaults.kms.admin) == []


def test_keys_outside_searched_compartments_are_reported(vaults, small_keys, factory, job):
    vaults.kms.create_key(vaults.source, vaults.target_compartment_id, algorithm="AES", length=32, name="elsewhere")

    data = run_job(job, factory).to_dict()

    assert data["reconciliation"]["software_keys_not_seen"] == 1
    assert any("compartment_ids" in warning for warning in data["warnings"])
    assert data["counts"]["versions_copied"] == 5


def test_named_key_in_unsearched_compartment_is_copied(vaults, factory, job_data, emulator):
    elsewhere = vaults.kms.create_key(vaults.source, vaults.target_compartment_id, algorithm="AES", length=32,
                                      name="elsewhere")
    job = parse_job({**job_data, "selection": {"key_ids": [elsewhere.id]}})

    assert run_job(job, factory).status == "ok"
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, [elsewhere.id]) == []


def test_disabled_source_key_keeps_its_copy(vaults, small_keys, factory, job, emulator):
    run_job(job, factory)
    key_id = small_keys["aes-2"].id
    vaults.kms.management(vaults.source).disable_key(key_id)
    vaults.kms.wait_key(vaults.source, key_id, "DISABLED")

    data = run_job(job, factory).to_dict()

    entry = next(k for k in data["unsupported"] if k["source_key_id"] == key_id)
    assert "DISABLED" in entry["reason"]
    assert entry["targets"][0]["target_key_id"]
    assert len(copies_by_source(emulator, vaults.source.id, vaults.target.id)[key_id]) == 1


def test_duplicate_copies_fail_that_key(vaults, small_keys, factory, job, emulator):
    run_job(job, factory)
    key_id = small_keys["aes-2"].id
    copy = copies_by_source(emulator, vaults.source.id, vaults.target.id)[key_id][0]
    twin = vaults.kms.create_key(vaults.target, vaults.target_compartment_id, name="twin",
                                 tags=dict(copy.freeform_tags))
    vaults.kms.rotate(vaults.source, key_id)
    vaults.kms.admin.clear_calls()

    data = run_job(job, factory).to_dict()

    target = next(k for k in data["keys"] if k["source_key_id"] == key_id)["targets"][0]
    assert twin.id in target["error"]["message"]
    assert export_and_import_calls(vaults.kms.admin) == []
    assert data["status"] == "partial"


def test_rate_limit_stays_under_service_throttle(vaults, factory, job_data):
    for index in range(12):
        vaults.kms.create_key(vaults.source, vaults.compartment_id, algorithm="AES", length=32, name=f"aes-{index}")
    # A dry run reads each key twice at once. The client limit sits below the service's, so
    # network jitter cannot push the calls over it.
    vaults.kms.admin.update_settings(throttle_rps=10)
    job = parse_job({**job_data, "options": {"requests_per_second": 8, "dry_run": True, "concurrency": 8}})
    vaults.kms.admin.clear_calls()

    report = run_job(job, factory)

    assert report.status == "ok"
    assert [c for c in vaults.kms.admin.calls() if c["status"] == 429] == []
