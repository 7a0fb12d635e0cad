"""doctor --canary and --probe against the emulator, and against a real tenancy when its settings are given."""

import datetime

import pytest

from kms_emulator import AdminClient
from kms_key_backup.canary import CANARY_TAG, DISPLAY_NAME_PREFIX

from canary_helpers import REQUIRED, snapshot_other_keys, tenancy_settings

CANARY_OPERATIONS = {
    "CreateKey": ["KEY_CREATE"],
    "CreateKeyVersion": ["KEY_ROTATE"],
    "ExportKey": ["KEY_EXPORT"],
    "ImportKey": ["KEY_IMPORT", "VAULT_IMPORT_KEY"],
    "ImportKeyVersion": ["KEY_IMPORT"],
    "ScheduleKeyDeletion": ["KEY_DELETE"],
}


def canary(run_cli, place, *extra):
    return run_cli("doctor", "--job", place.job_file, *place.cli_auth, "--canary", *extra, "--output", "json")


def read_throwaway_key(place, key):
    region = place.job["source"]["region"] if key["vault"] == "source" else place.job["targets"][0]["region"]
    vault = place.factory.get_vault(region, key["vault_id"])
    return place.factory.management_client(vault).get_key(key["key_id"]).data


def assert_pending_deletion_in_seven_days(place, document, started):
    assert len(document["throwaway_keys"]) == 4
    for key in document["throwaway_keys"]:
        model = read_throwaway_key(place, key)
        assert model.lifecycle_state == "PENDING_DELETION", key
        assert model.freeform_tags.get(CANARY_TAG) == document["run_id"]
        assert model.display_name.startswith(DISPLAY_NAME_PREFIX)
        window = model.time_of_deletion - started
        assert datetime.timedelta(days=7) <= window <= datetime.timedelta(days=7, hours=1), window


@pytest.mark.oci_verified
def test_canary_passes_and_touches_nothing_else(run_cli, place):
    before = snapshot_other_keys(place)
    started = datetime.datetime.now(datetime.timezone.utc)

    result = canary(run_cli, place)

    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json()
    assert document["status"] == "ok"
    assert document["verdict"].startswith("passed")
    assert [step for step in document["steps"] if step["outcome"] != "ok"] == []
    exercised = {step["operation"]: step["permissions"] for step in document["steps"]}
    for operation, permissions in CANARY_OPERATIONS.items():
        assert exercised.get(operation) == permissions, operation
    assert_pending_deletion_in_seven_days(place, document, started)
    assert snapshot_other_keys(place) == before


@pytest.mark.oci_verified
def test_canary_leaves_only_pending_throwaway_keys(run_cli, emulator_place):
    state = emulator_place.emulator.state
    before = {key.id for vault in state.vaults.values() for key in vault.keys.values()}

    result = canary(run_cli, emulator_place)

    assert result.exit_code == 0, result.stdout + result.stderr
    new_keys = [key for vault in state.vaults.values() for key in vault.keys.values() if key.id not in before]
    assert len(new_keys) == 4
    for key in new_keys:
        assert key.lifecycle.resolve(datetime.datetime.now().timestamp()) == "PENDING_DELETION", key.id
        assert key.freeform_tags[CANARY_TAG] == result.json()["run_id"]
    writes = [call for call in AdminClient(emulator_place.emulator.url).calls() if call["write"]]
    assert {call["key_id"] for call in writes if call["key_id"]} <= {key.id for key in new_keys}


@pytest.mark.oci_verified
def test_canary_text_prints_steps_and_verdict(run_cli, emulator_place):
    result = run_cli("doctor", "--job", emulator_place.job_file, *emulator_place.cli_auth, "--canary")

    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("OK      create the AES key: CreateKey [KEY_CREATE] in source") for line in lines)
    assert any("ImportKey [KEY_IMPORT, VAULT_IMPORT_KEY] in targets[0]" in line for line in lines)
    assert any("ScheduleKeyDeletion [KEY_DELETE]" in line for line in lines)
    assert lines[-1].startswith("verdict: passed")


@pytest.mark.oci_verified
def test_canary_names_denied_import_permission(run_cli, emulator_place):
    admin = AdminClient(emulator_place.emulator.url)
    admin.add_fault("ImportKey", times=100, status=404, code="NotAuthorizedOrNotFound",
                    message="Authorization failed or requested resource not found.")
    started = datetime.datetime.now(datetime.timezone.utc)

    result = canary(run_cli, emulator_place)

    assert result.exit_code == 1, result.stdout + result.stderr
    document = result.json()
    assert document["status"] == "failed"
    verdict = document["verdict"]
    assert "ImportKey in the targets[0] vault failed (404 NotAuthorizedOrNotFound)" in verdict
    assert "KEY_IMPORT and VAULT_IMPORT_KEY" in verdict
    assert [key["vault"] for key in document["throwaway_keys"]] == ["source", "source"]
    for key in document["throwaway_keys"]:
        assert read_throwaway_key(emulator_place, key).lifecycle_state == "PENDING_DELETION"
        model = read_throwaway_key(emulator_place, key)
        assert model.time_of_deletion - started >= datetime.timedelta(days=7)


@pytest.mark.oci_verified
def test_probe_observes_service_answers(run_cli, place):
    before = snapshot_other_keys(place)
    started = datetime.datetime.now(datetime.timezone.utc)

    result = canary(run_cli, place, "--probe")

    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json()
    probes = document["probes"]
    assert len(probes) == 7
    for probe in probes:
        assert probe["observed"] in ("accepted", "refused", "not observable"), probe
        assert probe["summary"].startswith(probe["probe"] + ": "), probe
        if probe["observed"] == "refused":
            assert isinstance(probe["status"], int), probe
            assert probe["code"], probe
    assert_pending_deletion_in_seven_days(place, document, started)
    assert snapshot_other_keys(place) == before


@pytest.mark.oci_verified
@pytest.mark.parametrize("switched_on", [True, False], ids=["switches-on", "switches-off"])
def test_probe_reports_emulator_switches(run_cli, emulator_place, switched_on):
    AdminClient(emulator_place.emulator.url).update_settings(
        reject_rsa_import_key_version=switched_on, deny_export_of_disabled_keys=switched_on)

    result = canary(run_cli, emulator_place, "--probe")

    assert result.exit_code == 0, result.stdout + result.stderr
    summaries = {probe["probe"]: probe["summary"] for probe in result.json()["probes"]}
    if switched_on:
        assert summaries["ImportKeyVersion of RSA key material"] == \
            "ImportKeyVersion of RSA key material: refused, 400 InvalidParameter"
        assert summaries["ExportKey of a DISABLED key"] == "ExportKey of a DISABLED key: refused, 409 IncorrectState"
    else:
        assert summaries["ImportKeyVersion of RSA key material"] == ("ImportKeyVersion of RSA key material: "
                                                                     "accepted, the new version's public key "
                                                                     "equals the source's")
        assert summaries["ExportKey of a DISABLED key"] == "ExportKey of a DISABLED key: accepted"
    assert summaries["ImportKeyVersion into a DISABLED key"] == \
        "ImportKeyVersion into a DISABLED key: refused, 409 IncorrectState"
    assert summaries["ExportKey of an older (non-current) key version"].startswith(
        "ExportKey of an older (non-current) key version: accepted")


def test_deep_without_canary_is_invalid(run_cli, emulator_place):
    AdminClient(emulator_place.emulator.url).clear_calls()

    result = run_cli("doctor", "--job", emulator_place.job_file, *emulator_place.cli_auth, "--deep")

    assert result.exit_code == 2
    assert "--deep" in result.stderr
    assert AdminClient(emulator_place.emulator.url).calls() == []


def test_tenancy_settings_name_missing_variables():
    settings, reason = tenancy_settings({"KMS_BACKUP_LIVE_PROFILE": "DEFAULT"})

    assert settings is None
    for name in REQUIRED[1:]:
        assert name in reason
    assert "KMS_BACKUP_LIVE_PROFILE," not in reason


def test_tenancy_settings_complete():
    environ = {name: f"value-of-{name}" for name in REQUIRED}

    settings, reason = tenancy_settings(environ)

    assert reason == ""
    assert settings.source_vault_id == "value-of-KMS_BACKUP_LIVE_SOURCE_VAULT_ID"
    assert settings.config_file.endswith("/.oci/config")
