"""The canary as a function payload, through the real fdk on the emulator."""

import pytest

from kms_key_backup.canary import CANARY_TAG


def canary_keys(emulator):
    return [key for vault in emulator.state.vaults.values() for key in vault.keys.values()
            if CANARY_TAG in (key.freeform_tags or {})]


@pytest.mark.oci_verified
def test_canary_payload_passes(start_function, emulator):
    function = start_function(KMS_BACKUP_ALLOW_CANARY="true")

    result = function.invoke({"trigger": "canary"})
    document = result.json()

    assert result.status == 200, document
    assert document["trigger"] == "canary"
    assert document["status"] == "ok"
    assert document["verdict"].startswith("passed")
    assert "probes" not in document
    keys = canary_keys(emulator)
    assert len(keys) == 4
    assert {key.time_of_deletion is not None for key in keys} == {True}


@pytest.mark.oci_verified
def test_canary_payload_with_probe(start_function):
    function = start_function(KMS_BACKUP_ALLOW_CANARY="true")

    document = function.invoke({"trigger": "canary", "probe": True}).json()

    assert document["status"] == "ok", document
    assert len(document["probes"]) == 7
    assert {probe["observed"] for probe in document["probes"]} <= {"accepted", "refused", "not observable"}


@pytest.mark.parametrize("body, field", [
    ({"trigger": "canary", "probe": "yes"}, "payload.probe"),
    ({"trigger": "canary", "targets": []}, "payload.targets"),
    ({"trigger": "canary-now"}, "payload.trigger"),
], ids=["probe_not_bool", "extra_field", "unknown_trigger"])
def test_bad_canary_payload_is_rejected_without_calls(start_function, admin, body, field):
    function = start_function(KMS_BACKUP_ALLOW_CANARY="true")

    result = function.invoke(body)
    document = result.json()

    assert result.status == 502
    assert document["status"] == "invalid_input"
    assert document["error"]["field"] == field
    assert admin.calls() == []


def test_canary_payload_needs_allow_canary(start_function, admin):
    function = start_function()

    result = function.invoke({"trigger": "canary"})
    report = result.json()

    assert result.status == 502
    assert report["status"] == "invalid_input"
    assert report["error"]["field"] == "payload.trigger"
    assert "KMS_BACKUP_ALLOW_CANARY" in report["error"]["fix"]
    assert admin.calls() == []
