"""Drift test: the emulator's JSON field names against the `oci` SDK models' attribute maps.

Every field the emulator sends must be a field of the SDK model, and every model field must be
either sent or listed below as a documented omission (docs/emulator.md), so a new SDK field fails
this test until someone decides how the emulator responds.
"""

import oci
import pytest
from oci._vendor import requests

km = oci.key_management.models

# Fields the emulator leaves out: replication, external key managers, backups and restores.
OMITTED = {
    km.Vault: {"restoredFromVaultId", "replicaDetails", "externalKeyManagerMetadataSummary", "timeOfDeletion"},
    km.VaultSummary: {"externalKeyManagerMetadataSummary"},
    km.Key: {"restoredFromKeyId", "replicaDetails", "externalKeyReferenceDetails", "autoKeyRotationDetails",
             "timeOfDeletion"},
    km.KeySummary: {"externalKeyReferenceDetails"},
    km.KeyVersion: {"restoredFromKeyVersionId", "replicaDetails", "externalKeyReferenceDetails", "timeOfDeletion",
                    "publicKey"},
    km.KeyVersionSummary: {"externalKeyReferenceDetails", "timeOfDeletion"},
    km.WrappingKey: set(),
    km.VaultUsage: set(),
    km.ExportedKeyData: set(),
    km.KeyShape: {"curveId"},
}


def _fields(model) -> set[str]:
    return set(model().attribute_map.values())


@pytest.fixture
def raw_get(kms):
    signer = oci.signer.Signer(kms.config["tenancy"], kms.config["user"], kms.config["fingerprint"],
                               kms.config["key_file"])

    def get(url: str):
        response = requests.get(url, auth=signer, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    return get


def _check(model, body: dict):
    fields = _fields(model)
    extra = set(body) - fields
    assert extra == set(), f"{model.__name__} has no fields {extra}"
    missing = fields - set(body) - OMITTED[model]
    assert missing == set(), f"emulator does not send {model.__name__} fields {missing}"


def test_wire_fields_match_sdk_models(kms, world, vault, raw_get):
    key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    vault_base = kms.emulator.kms_endpoint_template.format(region="eu-frankfurt-1") + "/20180608"
    management = vault.management_endpoint + "/20180608"

    _check(km.Vault, raw_get(f"{vault_base}/vaults/{vault.id}"))
    _check(km.VaultSummary, raw_get(f"{vault_base}/vaults?compartmentId={world.main.compartment_id}")[0])
    _check(km.VaultUsage, raw_get(f"{vault_base}/vaults/{vault.id}/usage"))
    key_body = raw_get(f"{management}/keys/{key.id}")
    _check(km.Key, key_body)
    _check(km.KeyShape, key_body["keyShape"])
    _check(km.KeySummary, raw_get(f"{management}/keys?compartmentId={world.main.compartment_id}")[0])
    version_body = raw_get(f"{management}/keys/{key.id}/keyVersions/{key.current_key_version}")
    assert "publicKey" in version_body
    _check(km.KeyVersion, version_body)
    _check(km.KeyVersionSummary, raw_get(f"{management}/keys/{key.id}/keyVersions")[0])
    _check(km.WrappingKey, raw_get(f"{management}/wrappingKeys"))


def test_export_fields_match_sdk_model(kms, world, vault, caller_key_3072):
    from emu_helpers import public_pem

    key = kms.create_key(vault, world.main.compartment_id)
    signer = oci.signer.Signer(kms.config["tenancy"], kms.config["user"], kms.config["fingerprint"],
                               kms.config["key_file"])
    body = {"keyId": key.id, "algorithm": "RSA_OAEP_AES_SHA256", "publicKey": public_pem(caller_key_3072)}
    response = requests.post(vault.crypto_endpoint + "/20180608/exportKey", json=body, auth=signer, timeout=10)
    assert response.status_code == 200
    _check(km.ExportedKeyData, response.json())


@pytest.mark.parametrize("model", [km.Key, km.KeySummary, km.KeyVersion, km.Vault, km.WrappingKey])
def test_lifecycle_states_are_sdk_enums(model):
    # The states the emulator can return, per backend.py and models.py.
    emitted = {"CREATING", "ENABLING", "ENABLED", "DISABLING", "DISABLED", "SCHEDULING_DELETION", "PENDING_DELETION",
               "CANCELLING_DELETION", "DELETED"}
    if model is km.Vault:
        emitted = {"CREATING", "ACTIVE", "SCHEDULING_DELETION", "PENDING_DELETION", "CANCELLING_DELETION", "DELETED"}
    allowed = {value for name, value in vars(model).items() if name.startswith("LIFECYCLE_STATE_")}
    assert emitted <= allowed
