"""Throttling, fault injection, the call log and retry tokens."""

import concurrent.futures

import oci
import pytest

from kms_emulator.admin import AdminError

models = oci.key_management.models


def test_throttle_answers_429_and_logs_it(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.admin.update_settings(throttle_rps=10)
    kms.admin.clear_calls()
    client = kms.management(vault)

    def get_key(_):
        try:
            client.get_key(key.id)
            return 200
        except oci.exceptions.ServiceError as exc:
            return exc.status

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(get_key, range(30)))
    assert 429 in statuses
    assert 200 in statuses
    logged = kms.admin.calls(operation="GetKey", status=429)
    assert len(logged) == statuses.count(429)
    assert logged[0]["code"] == "TooManyRequests"
    assert logged[0]["category"] == "management_read"


def test_throttle_is_per_category(kms, world, vault):
    kms.admin.update_settings(throttle_rps=1)
    client = kms.management(vault)
    client.list_keys(world.main.compartment_id)
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.list_keys(world.main.compartment_id)
    assert failure.value.status == 429
    # A management write draws from its own bucket.
    details = models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name="write",
                                      key_shape=models.KeyShape(algorithm="AES", length=32))
    assert client.create_key(details).data.lifecycle_state == "CREATING"


def test_fault_fails_nth_call(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.admin.add_fault("GetKey", nth=2, status=503, code="ServiceUnavailable")
    client = kms.management(vault)
    client.get_key(key.id)
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.get_key(key.id)
    assert failure.value.status == 503
    assert failure.value.code == "ServiceUnavailable"
    client.get_key(key.id)


def test_fault_limited_to_key(kms, world, vault):
    first = kms.create_key(vault, world.main.compartment_id, name="first")
    second = kms.create_key(vault, world.main.compartment_id, name="second")
    kms.admin.add_fault("CreateKeyVersion", key_id=second.id, times=5, status=500)
    client = kms.management(vault)
    assert client.create_key_version(first.id).data.key_id == first.id
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.create_key_version(second.id)
    assert failure.value.status == 500


def test_drop_fault_closes_connection(kms, world, vault):
    kms.admin.add_fault("ListKeys", action="drop")
    with pytest.raises(Exception) as failure:
        kms.management(vault).list_keys(world.main.compartment_id)
    assert not isinstance(failure.value, oci.exceptions.ServiceError)
    assert kms.admin.calls(operation="ListKeys")[-1]["code"] == "ConnectionDropped"


def test_drop_after_fault_applies_the_write(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.admin.add_fault("CreateKeyVersion", action="drop_after")
    with pytest.raises(Exception):
        kms.management(vault).create_key_version(key.id)
    assert len(kms.management(vault).list_key_versions(key.id).data) == 2


def test_fault_probability_one_always_fires(kms, world, vault):
    kms.admin.add_fault("ListKeys", probability=1.0, times=2, status=500)
    client = kms.management(vault)
    for _ in range(2):
        with pytest.raises(oci.exceptions.ServiceError):
            client.list_keys(world.main.compartment_id)
    assert client.list_keys(world.main.compartment_id).data == []


def test_invalid_fault_rule_is_rejected(kms):
    with pytest.raises(AdminError) as failure:
        kms.admin.add_fault("NoSuchOperation")
    assert failure.value.status == 400
    assert "NoSuchOperation" in failure.value.message


def test_call_log_records_ids_and_writes(kms, world, vault, caller_key_3072):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.admin.clear_calls()
    kms.management(vault).get_key(key.id)
    version = kms.management(vault).create_key_version(key.id).data
    calls = kms.admin.calls()
    assert [call["operation"] for call in calls] == ["GetKey", "CreateKeyVersion"]
    get_call, rotate_call = calls
    assert get_call["write"] is False
    assert rotate_call["write"] is True
    assert rotate_call["key_id"] == key.id
    assert get_call["vault_id"] == vault.id
    assert get_call["region"] == "eu-frankfurt-1"
    assert get_call["tenancy_id"] == world.main.tenancy_id
    assert get_call["principal"] == world.main.user_id
    assert get_call["start"] <= get_call["end"]
    assert version.key_id == key.id


def test_retry_token_replays_first_result(kms, world, vault):
    client = kms.management(vault)
    details = models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name="once",
                                      key_shape=models.KeyShape(algorithm="AES", length=32), protection_mode="SOFTWARE")
    first = client.create_key(details, opc_retry_token="token-1").data
    second = client.create_key(details, opc_retry_token="token-1").data
    assert second.id == first.id
    assert len(client.list_keys(world.main.compartment_id).data) == 1


def test_retry_token_with_other_body_is_invalidated(kms, world, vault):
    client = kms.management(vault)
    shape = models.KeyShape(algorithm="AES", length=32)
    client.create_key(models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name="a",
                                              key_shape=shape), opc_retry_token="token-2")
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.create_key(models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name="b",
                                                  key_shape=shape), opc_retry_token="token-2")
    assert failure.value.status == 409
    assert failure.value.code == "InvalidatedRetryToken"


def test_settings_reject_bad_values(kms):
    with pytest.raises(AdminError) as failure:
        kms.admin.update_settings(latency_ms=-1)
    assert failure.value.status == 400
    with pytest.raises(AdminError):
        kms.admin.update_settings(unknown_switch=True)
