"""Classifying invocation bodies: sweeps, schedules, job fragments and CloudEvents."""

import json

import pytest

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.function import payload

KEY_ID = "ocid1.key.oc1.eu-frankfurt-1.vaultprefix.keyunique"
KEY_VERSION_ID = "ocid1.keyversion.oc1.eu-frankfurt-1.vaultprefix.versionunique"


def cloud_event(event_type="com.oraclecloud.keymanagementservice.createkeyversion.end",
                resource_id=KEY_ID, **data_fields):
    data = {"compartmentId": "ocid1.compartment.oc1..source", "resourceName": "payments",
            "resourceId": resource_id, "freeformTags": {}, "definedTags": {},
            "additionalDetails": {}}
    data.update(data_fields)
    return {
        "eventType": event_type,
        "cloudEventsVersion": "0.1",
        "eventTypeVersion": "2.0",
        "source": "KeyManagementService",
        "eventTime": "2026-12-04T10:00:00Z",
        "contentType": "application/json",
        "extensions": {"compartmentId": "ocid1.compartment.oc1..source"},
        "eventID": "b2d4c0de-0000-4000-8000-000000000001",
        "data": data,
    }


def encode(document):
    return json.dumps(document).encode("utf-8")


@pytest.mark.parametrize("body", [b"", b"   \n", b"\t"])
def test_empty_body_is_sweep(body):
    assert payload.parse_invocation(body).trigger == payload.TRIGGER_SWEEP


def test_schedule_marker_is_schedule():
    invocation = payload.parse_invocation(b'{"trigger": "schedule"}')

    assert invocation.trigger == payload.TRIGGER_SCHEDULE
    assert invocation.fragment is None


def test_job_fragment_is_payload():
    fragment = {"selection": {"display_names": ["payments"]}, "options": {"dry_run": True}}

    invocation = payload.parse_invocation(encode(fragment))

    assert invocation.trigger == payload.TRIGGER_PAYLOAD
    assert invocation.fragment == fragment


def test_key_event_names_key():
    invocation = payload.parse_invocation(encode(cloud_event()))

    assert invocation.trigger == payload.TRIGGER_EVENT
    assert invocation.event.key_id == KEY_ID
    assert invocation.event.key_version_id is None
    assert invocation.event.operation == "createkeyversion.end"
    assert invocation.event.syncs_key is True
    assert invocation.event.event_id == "b2d4c0de-0000-4000-8000-000000000001"


def test_event_type_matched_case_insensitively():
    event = cloud_event(event_type="com.oraclecloud.KeyManagementService.AutoKeyRotate.End")

    invocation = payload.parse_invocation(encode(event))

    assert invocation.event.operation == "autokeyrotate.end"
    assert invocation.event.syncs_key is True


@pytest.mark.parametrize("operation", sorted(payload.SYNC_OPERATIONS))
def test_sync_operations_sync_key(operation):
    event = cloud_event(event_type=payload.EVENT_TYPE_PREFIX + operation)

    assert payload.parse_invocation(encode(event)).event.syncs_key is True


@pytest.mark.parametrize("operation", ["createkeyversion.begin", "schedulekeydeletion.end",
                                       "changekeycompartment.end"])
def test_other_vault_events_do_not_sync(operation):
    event = cloud_event(event_type=payload.EVENT_TYPE_PREFIX + operation)

    assert payload.parse_invocation(encode(event)).event.syncs_key is False


def test_key_version_event_reads_key_from_additional_details():
    event = cloud_event(resource_id=KEY_VERSION_ID, additionalDetails={"keyId": KEY_ID})

    parsed = payload.parse_invocation(encode(event)).event

    assert parsed.key_version_id == KEY_VERSION_ID
    assert parsed.key_id == KEY_ID


def test_version_event_key_in_other_detail():
    event = cloud_event(resource_id=KEY_VERSION_ID,
                        additionalDetails={"vaultId": "ocid1.vault.oc1..v", "masterKey": KEY_ID})

    assert payload.parse_invocation(encode(event)).event.key_id == KEY_ID


def test_version_event_without_key_ocid():
    event = cloud_event(resource_id=KEY_VERSION_ID,
                        additionalDetails={"vaultId": "ocid1.vault.oc1..v"})

    parsed = payload.parse_invocation(encode(event)).event

    assert parsed.key_version_id == KEY_VERSION_ID
    assert parsed.key_id is None


@pytest.mark.parametrize("body, field, words", [
    (b"\xff\xfe", "payload", "not UTF-8"),
    (b"{not json", "payload", "not valid JSON"),
    (b"[1, 2]", "payload", "not an object"),
    (b'"sweep"', "payload", "not an object"),
    (b'{"selection": {}, "colour": "blue"}', "payload.colour", "not a job field"),
    (b'{"trigger": "manual"}', "payload.trigger", "not a supported trigger"),
    (b'{"trigger": "schedule", "selection": {}}', "payload.selection", "not allowed"),
    (b'{"specversion": "1.0", "type": "x"}', "payload.specversion", "CloudEvents 1.0"),
])
def test_malformed_body_is_rejected(body, field, words):
    with pytest.raises(InvalidInputError) as raised:
        payload.parse_invocation(body)

    assert raised.value.field == field
    assert words in raised.value.problem


@pytest.mark.parametrize("mutate, field, words", [
    (lambda event: event.update(eventType=7), "payload.eventType", "not a string"),
    (lambda event: event.update(eventType="com.oraclecloud.objectstorage.createobject"),
     "payload.eventType", "not a Vault key event"),
    (lambda event: event.pop("data"), "payload.data", "missing"),
    (lambda event: event["data"].pop("resourceId"), "payload.data.resourceId", "missing"),
    (lambda event: event["data"].update(resourceId="ocid1.vault.oc1..v"),
     "payload.data.resourceId", "not a key or key-version OCID"),
])
def test_malformed_event_is_rejected(mutate, field, words):
    event = cloud_event()
    mutate(event)

    with pytest.raises(InvalidInputError) as raised:
        payload.parse_invocation(encode(event))

    assert raised.value.field == field
    assert words in raised.value.problem


def test_oversized_payload_is_rejected():
    body = b" " * (payload.MAX_PAYLOAD_BYTES + 1)

    with pytest.raises(InvalidInputError) as raised:
        payload.parse_invocation(body)

    assert raised.value.field == "payload"
    assert "too large" in raised.value.problem


def test_rejected_payload_is_not_echoed():
    body = b'{"selection": "secret-looking-text", oops}'

    with pytest.raises(InvalidInputError) as raised:
        payload.parse_invocation(body)

    assert "secret-looking-text" not in str(raised.value)
