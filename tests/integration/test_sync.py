"""The engine against the emulator: what a sync copies, skips, verifies and costs."""

from __future__ import annotations

import json
import time

import pytest

from kms_key_backup.clients import ClientFactory
from kms_key_backup.copy import RunContext
from kms_key_backup.engine import run_job
from kms_key_backup.job import parse_job
from kms_key_backup.plan import TAG_SOURCE_REGION

from engine_helpers import (COPYABLE, NOT_COPYABLE, SOURCE_REGION, copies_by_source, exact_copy_problems,
                            export_and_import_calls, fast_retry_strategy)

pytestmark = pytest.mark.oci_verified


def _ids(source_keys, names):
    return [source_keys[name].id for name in names]


def test_sync_copies_every_copyable_version(vaults, source_keys, factory, job, emulator):
    report = run_job(job, factory)
    data = report.to_dict()

    assert data["status"] == "partial"
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, _ids(source_keys, COPYABLE)) == []
    assert data["counts"]["versions_copied"] == 11
    assert data["counts"]["versions_verified"] == 11
    assert data["counts"]["keys_created"] == 5


def test_sync_verifies_rsa_by_public_key(vaults, source_keys, factory, job):
    data = run_job(job, factory).to_dict()

    rsa_versions = [v for k in data["keys"] if k["algorithm"] == "RSA" for t in k["targets"]
                    for v in t["versions_copied"]]
    assert len(rsa_versions) == 4
    assert {v["verification"] for v in rsa_versions} == {"rsa_public_key_equal"}
    assert all(v["verified"] for v in rsa_versions)


def test_sync_reports_uncopyable_keys_with_reasons(vaults, source_keys, factory, job, emulator):
    data = run_job(job, factory).to_dict()

    reasons = {k["display_name"]: k["reason"] for k in data["unsupported"]}
    assert set(reasons) == set(NOT_COPYABLE)
    assert "HSM" in reasons["hsm"]
    assert "ECDSA" in reasons["ecdsa"]
    assert "DISABLED" in reasons["disabled"]
    copies = copies_by_source(emulator, vaults.source.id, vaults.target.id)
    assert not set(copies) & set(_ids(source_keys, NOT_COPYABLE))


def test_copy_carries_provenance_and_source_tags(vaults, factory, job, emulator):
    tagged = vaults.kms.create_key(vaults.source, vaults.compartment_id, name="tagged", tags={"team": "payments"})

    run_job(job, factory)

    copy = copies_by_source(emulator, vaults.source.id, vaults.target.id)[tagged.id][0]
    assert copy.freeform_tags["team"] == "payments"
    assert copy.freeform_tags[TAG_SOURCE_REGION] == SOURCE_REGION
    assert copy.display_name == "tagged"
    assert copy.protection_mode == "SOFTWARE"


def test_second_sync_makes_no_export_or_import(vaults, source_keys, factory, job):
    run_job(job, factory)
    vaults.kms.admin.clear_calls()

    report = run_job(job, factory)

    assert export_and_import_calls(vaults.kms.admin) == []
    assert report.to_dict()["counts"]["keys_current"] == len(COPYABLE)
    assert report.status == "partial"  # the HSM, ECDSA and DISABLED keys are still reported


def test_noop_sweep_reads_about_one_source_call_per_key(vaults, source_keys, factory, job):
    run_job(job, factory)
    vaults.kms.admin.clear_calls()

    run_job(job, factory)

    source_reads = [c for c in vaults.kms.admin.calls() if c["region"] == SOURCE_REGION and not c["write"]]
    assert len(source_reads) <= 1.1 * len(source_keys)


def test_new_source_version_is_imported_once(vaults, source_keys, factory, job, emulator):
    run_job(job, factory)
    vaults.kms.rotate(vaults.source, source_keys["aes-2"].id)
    vaults.kms.admin.clear_calls()

    data = run_job(job, factory).to_dict()

    imports = [c for c in vaults.kms.admin.calls() if c["operation"] == "ImportKeyVersion"]
    assert len(imports) == 1
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, _ids(source_keys, COPYABLE)) == []
    actions = {k["display_name"]: k["targets"][0]["action"] for k in data["keys"]}
    assert actions["aes-2"] == "import_versions"


def test_rotation_of_one_key_costs_at_most_eight_calls(vaults, source_keys, factory, job_data):
    job = parse_job({**job_data, "selection": {"key_ids": [source_keys["aes-2"].id]}})
    run_job(job, factory)
    vaults.kms.rotate(vaults.source, source_keys["aes-2"].id)
    vaults.kms.admin.clear_calls()

    report = run_job(job, factory)

    assert report.status == "ok"
    assert len(vaults.kms.admin.calls()) <= 8


def test_plan_makes_no_writes(vaults, source_keys, factory, job_data):
    job = parse_job({**job_data, "options": {**job_data["options"], "dry_run": True}})
    vaults.kms.admin.clear_calls()

    data = run_job(job, factory).to_dict()

    assert [c for c in vaults.kms.admin.calls() if c["write"] or c["operation"] == "ExportKey"] == []
    assert data["counts"]["versions_planned"] == 11
    assert data["dry_run"] is True


def test_current_mode_copies_only_current_version(vaults, source_keys, factory, job_data, emulator):
    job = parse_job({**job_data, "versions": {"mode": "current"}})

    run_job(job, factory)

    copy = copies_by_source(emulator, vaults.source.id, vaults.target.id)[source_keys["aes-4"].id][0]
    assert len(copy.versions) == 1


def test_explicit_mode_copies_listed_versions(vaults, source_keys, factory, job_data, emulator):
    versions = vaults.kms.management(vaults.source).list_key_versions(source_keys["aes-4"].id).data
    chosen = sorted(versions, key=lambda v: v.time_created)[1].id
    job = parse_job({**job_data, "selection": {"key_ids": [source_keys["aes-4"].id]},
                     "versions": {"mode": "explicit", "version_ids": [chosen]}})

    data = run_job(job, factory).to_dict()

    assert [v["source_key_version_id"] for v in data["keys"][0]["targets"][0]["versions_copied"]] == [chosen]


def test_rejected_rsa_version_import_reports_partial(vaults, source_keys, factory, job, emulator):
    vaults.kms.admin.update_settings(reject_rsa_import_key_version=True)

    data = run_job(job, factory).to_dict()

    rsa3 = next(k for k in data["keys"] if k["display_name"] == "rsa-3")["targets"][0]
    assert rsa3["error"]["operation"] == "import_key_version"
    assert rsa3["error"]["status"] == 400
    assert rsa3["error"]["opc_request_id"]
    assert len(rsa3["versions_copied"]) == 1
    assert data["status"] == "partial"
    others = [k for k in COPYABLE if k != "rsa-3"]
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, _ids(source_keys, others)) == []


def test_deep_verify_compares_material(vaults, source_keys, factory, job_data):
    job = parse_job({**job_data, "selection": {"key_ids": [source_keys["aes-2"].id, source_keys["rsa-1"].id]},
                     "options": {**job_data["options"], "deep_verify": True}})

    data = run_job(job, factory).to_dict()

    copied = [v for k in data["keys"] for t in k["targets"] for v in t["versions_copied"]]
    assert len(copied) == 3
    assert {v["verification"] for v in copied} == {"deep_digest_equal"}
    assert all(v["verified"] for v in copied)


def test_throttling_and_errors_are_retried_without_circuit_breaker(vaults, source_keys, factory, job, emulator):
    # More failures than the SDK's default circuit breaker tolerates (10), spread over calls.
    vaults.kms.admin.add_fault("*", probability=0.3, times=14, status=429, code="TooManyRequests")
    vaults.kms.admin.add_fault("ExportKey", nth=2, times=2, status=500, code="InternalServerError")

    report = run_job(job, factory)

    assert report.to_dict()["counts"]["keys_failed"] == 0
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, _ids(source_keys, COPYABLE)) == []


def test_lost_import_response_creates_no_duplicate(vaults, source_keys, factory, job, emulator):
    # The service runs the call, the response never arrives, and the SDK retries with the same token.
    vaults.kms.admin.add_fault("ImportKey", nth=1, action="drop_after")
    vaults.kms.admin.add_fault("ImportKeyVersion", nth=1, action="drop_after")

    run_job(job, factory)

    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, _ids(source_keys, COPYABLE)) == []


def test_expired_deadline_starts_nothing(vaults, source_keys, factory, job, emulator):
    report = run_job(job, factory, deadline=time.monotonic())
    data = report.to_dict()

    assert export_and_import_calls(vaults.kms.admin) == []
    assert data["status"] == "partial"
    assert data["deadline_reached"] is True
    assert len(data["keys_left"]) == len(COPYABLE)
    assert len(data["unsupported"]) == len(NOT_COPYABLE)

    run_job(job, factory)
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, _ids(source_keys, COPYABLE)) == []


def test_deadline_between_versions_leaves_the_rest(vaults, source_keys, factory, job_data, emulator, monkeypatch):
    job = parse_job({**job_data, "selection": {"key_ids": [source_keys["aes-4"].id]}})
    # The deadline check runs once before the key and once before each version, so the fourth
    # check falls after two versions are copied.
    checks = []

    def deadline_reached(self):
        checks.append(1)
        return len(checks) >= 4

    monkeypatch.setattr(RunContext, "deadline_reached", deadline_reached)
    data = run_job(job, factory).to_dict()
    monkeypatch.undo()

    target = data["keys"][0]["targets"][0]
    assert len(target["versions_copied"]) == 2
    assert len(target["versions_left"]) == 2
    assert data["status"] == "partial"
    assert data["deadline_reached"] is True

    assert run_job(job, factory).status == "ok"
    assert exact_copy_problems(emulator, vaults.source.id, vaults.target.id, [source_keys["aes-4"].id]) == []


def test_missing_target_vault_fails_preflight_without_export(vaults, source_keys, factory, job_data):
    missing = vaults.target.id[:-6] + "zzzzzz"
    job = parse_job({**job_data, "targets": [{**job_data["targets"][0], "vault_id": missing}]})

    data = run_job(job, factory).to_dict()

    assert data["status"] == "failed"
    assert data["error"]["step"] == "preflight"
    assert missing in data["error"]["message"]
    assert export_and_import_calls(vaults.kms.admin) == []


def test_target_vault_not_active_fails_preflight(vaults, source_keys, emulator, oci_config, job):
    vault_client = vaults.kms.vault_client("eu-stockholm-1")
    from oci.key_management.models import ScheduleVaultDeletionDetails
    vault_client.schedule_vault_deletion(vaults.target.id, ScheduleVaultDeletionDetails())
    factory = ClientFactory(oci_config, kms_endpoint_template=emulator.kms_endpoint_template,
                            retry_strategy=fast_retry_strategy())

    data = run_job(job, factory).to_dict()

    assert data["status"] == "failed"
    assert "not ACTIVE" in data["error"]["message"]
    assert export_and_import_calls(vaults.kms.admin) == []


def test_report_is_json_serializable(vaults, source_keys, factory, job):
    data = run_job(job, factory).to_dict()

    assert json.loads(json.dumps(data)) == data
