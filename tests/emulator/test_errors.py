"""Error responses: each check asserts the HTTP status and the OCI error code the SDK raises."""

import base64

import oci
import pytest
import json
import urllib.error
import urllib.request

from emu_helpers import public_pem, wrap_for_import

models = oci.key_management.models


def _service_error(call, *args, **kwargs) -> oci.exceptions.ServiceError:
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        call(*args, **kwargs)
    return failure.value


def _import_details(compartment_id, wrapped, algorithm="AES", length=32, curve_id=None, protection_mode="SOFTWARE"):
    return models.ImportKeyDetails(
        compartment_id=compartment_id, display_name="imported", protection_mode=protection_mode,
        key_shape=models.KeyShape(algorithm=algorithm, length=length, curve_id=curve_id),
        wrapped_import_key=models.WrappedImportKey(key_material=wrapped, wrapping_algorithm="RSA_OAEP_AES_SHA256"))


def test_export_of_hsm_key_is_rejected(kms, world, vault, caller_key_3072):
    key = kms.create_key(vault, world.main.compartment_id, "AES", 32, protection_mode="HSM")
    details = models.ExportKeyDetails(key_id=key.id, algorithm="RSA_OAEP_AES_SHA256", public_key=public_pem(caller_key_3072))
    error = _service_error(kms.crypto(vault).export_key, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"
    assert "SOFTWARE" in error.message


def test_import_of_ecdsa_is_rejected(kms, world, vault):
    wrapping_pem = kms.management(vault).get_wrapping_key().data.public_key
    details = _import_details(world.main.compartment_id, wrap_for_import(wrapping_pem, b"\x00" * 32), "ECDSA", 32,
                              "NIST_P256")
    error = _service_error(kms.management(vault).import_key, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"


def test_import_of_short_aes_material_is_rejected(kms, world, vault):
    wrapping_pem = kms.management(vault).get_wrapping_key().data.public_key
    details = _import_details(world.main.compartment_id, wrap_for_import(wrapping_pem, b"\x07" * 16), "AES", 32)
    error = _service_error(kms.management(vault).import_key, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"
    assert "16 bytes" in error.message


def test_import_of_garbage_blob_is_rejected(kms, world, vault):
    details = _import_details(world.main.compartment_id, base64.b64encode(b"\x00" * 600).decode())
    error = _service_error(kms.management(vault).import_key, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"


def test_import_writes_nothing_on_failure(kms, world, vault):
    details = _import_details(world.main.compartment_id, base64.b64encode(b"\x00" * 600).decode())
    _service_error(kms.management(vault).import_key, details)
    assert kms.management(vault).list_keys(world.main.compartment_id).data == []


def test_unsigned_request_is_rejected(emulator, kms, vault):
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(f"{vault.management_endpoint}/20180608/keys/x", timeout=10)
    assert failure.value.code == 401
    assert json.loads(failure.value.read())["code"] == "NotAuthenticated"
    assert failure.value.headers["opc-request-id"]


def test_wrong_key_signature_is_rejected(kms, world, vault, tmp_path):
    from kms_emulator.testing import new_api_key

    stranger = new_api_key()
    key_file = tmp_path / "stranger.pem"
    key_file.write_text(stranger.private_pem)
    config = dict(kms.config, key_file=str(key_file))
    client = oci.key_management.KmsManagementClient(
        config, service_endpoint=vault.management_endpoint,
        circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy())
    error = _service_error(client.list_keys, world.main.compartment_id)
    assert error.status == 401
    assert error.code == "NotAuthenticated"


def test_other_tenancy_vault_is_not_found(kms, other_kms, world, vault):
    error = _service_error(other_kms.vault_client().get_vault, vault.id)
    assert error.status == 404
    assert error.code == "NotAuthorizedOrNotFound"
    error = _service_error(other_kms.management(vault).list_keys, world.other.compartment_id)
    assert error.status == 404


def test_vault_in_other_region_is_not_found(kms, vault):
    error = _service_error(kms.vault_client("eu-stockholm-1").get_vault, vault.id)
    assert error.status == 404


def test_unknown_compartment_is_not_found(kms, vault):
    error = _service_error(kms.management(vault).list_keys, "ocid1.compartment.oc1..unknown")
    assert error.status == 404
    assert error.code == "NotAuthorizedOrNotFound"


def test_rotating_disabled_key_is_incorrect_state(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.management(vault).disable_key(key.id)
    kms.wait_key(vault, key.id, "DISABLED")
    error = _service_error(kms.management(vault).create_key_version, key.id)
    assert error.status == 409
    assert error.code == "IncorrectState"


def test_rotating_creating_key_is_incorrect_state(emulator, kms, world, vault):
    emulator.state.settings.update({"lifecycle_delay_ms": 60_000})
    shape = models.KeyShape(algorithm="AES", length=32)
    key = kms.management(vault).create_key(models.CreateKeyDetails(
        compartment_id=world.main.compartment_id, display_name="slow", key_shape=shape, protection_mode="SOFTWARE")).data
    assert key.lifecycle_state == "CREATING"
    error = _service_error(kms.management(vault).create_key_version, key.id)
    assert error.status == 409
    assert error.code == "IncorrectState"


@pytest.mark.parametrize("algorithm, length, curve_id", [
    ("AES", 20, None), ("RSA", 128, None), ("ECDSA", 32, "NIST_P384"), ("DES", 8, None), ("AES", 32, "NIST_P256"),
])
def test_create_key_rejects_bad_shape(kms, world, vault, algorithm, length, curve_id):
    details = models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name="bad",
                                      key_shape=models.KeyShape(algorithm=algorithm, length=length, curve_id=curve_id),
                                      protection_mode="SOFTWARE")
    error = _service_error(kms.management(vault).create_key, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"


def test_missing_compartment_is_missing_parameter(kms, vault):
    details = models.CreateKeyDetails(display_name="bad", key_shape=models.KeyShape(algorithm="AES", length=32))
    error = _service_error(kms.management(vault).create_key, details)
    assert error.status == 400
    assert error.code == "MissingParameter"


def test_export_under_small_public_key_is_rejected(kms, world, vault):
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    key = kms.create_key(vault, world.main.compartment_id)
    details = models.ExportKeyDetails(key_id=key.id, algorithm="RSA_OAEP_AES_SHA256", public_key=public_pem(small))
    error = _service_error(kms.crypto(vault).export_key, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"


def test_export_of_disabled_key_follows_switch(emulator, kms, world, vault, caller_key_3072):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.management(vault).disable_key(key.id)
    kms.wait_key(vault, key.id, "DISABLED")
    details = models.ExportKeyDetails(key_id=key.id, algorithm="RSA_OAEP_AES_SHA256", public_key=public_pem(caller_key_3072))
    assert kms.crypto(vault).export_key(details).data.key_id == key.id
    kms.admin.update_settings(deny_export_of_disabled_keys=True)
    error = _service_error(kms.crypto(vault).export_key, details)
    assert error.status == 409
    assert error.code == "IncorrectState"


def test_rsa_import_key_version_rejection_switch(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    kms.admin.update_settings(reject_rsa_import_key_version=True)
    wrapping_pem = kms.management(vault).get_wrapping_key().data.public_key
    details = models.ImportKeyVersionDetails(wrapped_import_key=models.WrappedImportKey(
        key_material=wrap_for_import(wrapping_pem, b"\x00" * 10), wrapping_algorithm="RSA_OAEP_AES_SHA256"))
    error = _service_error(kms.management(vault).import_key_version, key.id, details)
    assert error.status == 400
    assert error.code == "InvalidParameter"
    assert len(kms.management(vault).list_key_versions(key.id).data) == 1


def test_stale_etag_is_rejected(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    error = _service_error(kms.management(vault).disable_key, key.id, if_match="stale")
    assert error.status == 412
    assert error.code == "NoEtagMatch"
    etag = kms.management(vault).get_key(key.id).headers["etag"]
    assert kms.management(vault).disable_key(key.id, if_match=etag).data.lifecycle_state == "DISABLING"


def test_current_version_cannot_be_scheduled_for_deletion(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    error = _service_error(kms.management(vault).schedule_key_version_deletion, key.id, key.current_key_version,
                           models.ScheduleKeyVersionDeletionDetails())
    assert error.status == 409
    assert error.code == "IncorrectState"


def test_deletion_time_out_of_range_is_rejected(kms, world, vault):
    import datetime

    key = kms.create_key(vault, world.main.compartment_id)
    soon = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
    error = _service_error(kms.management(vault).schedule_key_deletion, key.id,
                           models.ScheduleKeyDeletionDetails(time_of_deletion=soon))
    assert error.status == 400
    assert error.code == "InvalidParameter"
