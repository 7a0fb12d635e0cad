"""Export and import round trips through the real SDK, checked by unwrapping independently."""

import base64

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emu_helpers import public_pem, unwrap_export, wrap_for_import

models = oci.key_management.models
FRANKFURT, STOCKHOLM = "eu-frankfurt-1", "eu-stockholm-1"


def _public_pem_of_pkcs8(material: bytes) -> str:
    private_key = serialization.load_der_private_key(material, password=None)
    return public_pem(private_key)


def _export(kms, vault, key_id, version_id, public_key_pem, algorithm="RSA_OAEP_AES_SHA256"):
    details = models.ExportKeyDetails(key_id=key_id, key_version_id=version_id, algorithm=algorithm,
                                      public_key=public_key_pem)
    return kms.crypto(vault).export_key(details).data


def check_export_every_version_in_two_regions(kms, compartment_id, caller_key):
    """Create an AES-256 and an RSA-2048 key in two regions, rotate each twice, export and unwrap every version."""
    caller_pem = public_pem(caller_key)
    for region in (FRANKFURT, STOCKHOLM):
        vault = kms.create_vault(compartment_id, region=region)
        assert vault.lifecycle_state == "ACTIVE"
        assert f".{region}." in vault.id
        aes = kms.create_key(vault, compartment_id, "AES", 32, name="aes")
        rsa_key = kms.create_key(vault, compartment_id, "RSA", 256, name="rsa")
        for key in (aes, rsa_key):
            kms.rotate(vault, key.id)
            kms.rotate(vault, key.id)
            versions = kms.management(vault).list_key_versions(key.id).data
            assert len(versions) == 3
            for summary in versions:
                exported = _export(kms, vault, key.id, summary.id, caller_pem)
                assert exported.key_version_id == summary.id
                assert exported.vault_id == vault.id
                material = unwrap_export(caller_key, exported.algorithm, exported.encrypted_key)
                if key.key_shape.algorithm == "AES":
                    assert len(material) == 32
                else:
                    version = kms.management(vault).get_key_version(key.id, summary.id).data
                    assert _public_pem_of_pkcs8(material) == version.public_key


def test_export_every_version_in_two_regions(kms, world, caller_key_3072):
    check_export_every_version_in_two_regions(kms, world.main.compartment_id, caller_key_3072)


def test_export_blob_length_matches_oci_format(kms, world, vault, caller_key_3072):
    key = kms.create_key(vault, world.main.compartment_id, "AES", 32)
    exported = _export(kms, vault, key.id, None, public_pem(caller_key_3072))
    # 384 bytes of RSA-OAEP under RSA-3072, then 32 bytes of key wrapped with RFC 5649: 8 + 32.
    assert len(base64.b64decode(exported.encrypted_key)) == 384 + 40
    assert exported.key_version_id == key.current_key_version


def test_export_rsa_oaep_sha256_of_aes_key(kms, world, vault, caller_key_3072):
    key = kms.create_key(vault, world.main.compartment_id, "AES", 16)
    exported = _export(kms, vault, key.id, None, public_pem(caller_key_3072), "RSA_OAEP_SHA256")
    assert len(unwrap_export(caller_key_3072, "RSA_OAEP_SHA256", exported.encrypted_key)) == 16


def test_export_rsa_oaep_sha256_rejects_rsa_material(kms, world, vault, caller_key_3072):
    key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        _export(kms, vault, key.id, None, public_pem(caller_key_3072), "RSA_OAEP_SHA256")
    assert failure.value.status == 400
    assert failure.value.code == "InvalidParameter"


def test_import_export_blob_keeps_material(kms, world, caller_key_3072):
    """Export under the Stockholm wrapping key, import there unchanged, and compare the copies."""
    source = kms.create_vault(world.main.compartment_id, region=FRANKFURT)
    target = kms.create_vault(world.main.compartment_id, region=STOCKHOLM)
    wrapping_pem = kms.management(target).get_wrapping_key().data.public_key
    caller_pem = public_pem(caller_key_3072)

    for algorithm, length in (("AES", 32), ("RSA", 256)):
        key = kms.create_key(source, world.main.compartment_id, algorithm, length, name=f"src-{algorithm}")
        blob = _export(kms, source, key.id, None, wrapping_pem).encrypted_key
        details = models.ImportKeyDetails(
            compartment_id=world.main.compartment_id, display_name=f"copy-{algorithm}",
            key_shape=models.KeyShape(algorithm=algorithm, length=length), protection_mode="SOFTWARE",
            wrapped_import_key=models.WrappedImportKey(key_material=blob, wrapping_algorithm="RSA_OAEP_AES_SHA256"))
        copy = kms.management(target).import_key(details).data
        assert copy.lifecycle_state == "CREATING"
        copy = kms.wait_key(target, copy.id)

        source_material = unwrap_export(caller_key_3072, "RSA_OAEP_AES_SHA256",
                                        _export(kms, source, key.id, None, caller_pem).encrypted_key)
        copy_material = unwrap_export(caller_key_3072, "RSA_OAEP_AES_SHA256",
                                      _export(kms, target, copy.id, None, caller_pem).encrypted_key)
        if algorithm == "AES":
            assert copy_material == source_material
        else:
            source_version = kms.management(source).get_key_version(key.id, key.current_key_version).data
            copy_version = kms.management(target).get_key_version(copy.id, copy.current_key_version).data
            assert copy_version.public_key == source_version.public_key
            assert copy_version.origin == "EXTERNAL"


def test_import_key_version_becomes_current(kms, world, vault):
    management = kms.management(vault)
    wrapping_pem = management.get_wrapping_key().data.public_key
    material = b"\x42" * 32
    details = models.ImportKeyDetails(
        compartment_id=world.main.compartment_id, display_name="imported",
        key_shape=models.KeyShape(algorithm="AES", length=32), protection_mode="SOFTWARE",
        wrapped_import_key=models.WrappedImportKey(key_material=wrap_for_import(wrapping_pem, material),
                                                   wrapping_algorithm="RSA_OAEP_AES_SHA256"))
    key = kms.wait_key(vault, management.import_key(details).data.id)
    first_version = key.current_key_version

    second = models.ImportKeyVersionDetails(wrapped_import_key=models.WrappedImportKey(
        key_material=wrap_for_import(wrapping_pem, b"\x43" * 32, "RSA_OAEP_SHA256"), wrapping_algorithm="RSA_OAEP_SHA256"))
    version = management.import_key_version(key.id, second).data
    assert version.origin == "EXTERNAL"
    kms.wait_key_version(vault, key.id, version.id)
    key = management.get_key(key.id).data
    assert key.current_key_version == version.id
    assert key.current_key_version != first_version


def test_import_rsa_key_version(kms, world, vault):
    management = kms.management(vault)
    key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    wrapping_pem = management.get_wrapping_key().data.public_key
    material = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    details = models.ImportKeyVersionDetails(wrapped_import_key=models.WrappedImportKey(
        key_material=wrap_for_import(wrapping_pem, material), wrapping_algorithm="RSA_OAEP_AES_SHA256"))
    version = kms.wait_key_version(vault, key.id, management.import_key_version(key.id, details).data.id)
    assert version.public_key == _public_pem_of_pkcs8(material)


def test_blob_for_other_vault_is_rejected(kms, world, caller_key_3072):
    first = kms.create_vault(world.main.compartment_id)
    second = kms.create_vault(world.main.compartment_id)
    wrapping_pem = kms.management(first).get_wrapping_key().data.public_key
    details = models.ImportKeyDetails(
        compartment_id=world.main.compartment_id, display_name="wrong-vault",
        key_shape=models.KeyShape(algorithm="AES", length=32), protection_mode="SOFTWARE",
        wrapped_import_key=models.WrappedImportKey(key_material=wrap_for_import(wrapping_pem, b"\x01" * 32),
                                                   wrapping_algorithm="RSA_OAEP_AES_SHA256"))
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.management(second).import_key(details)
    assert failure.value.status == 400
    assert failure.value.code == "InvalidParameter"
