"""Lifecycle transitions: CREATING, enable/disable, scheduled deletions and their cancellation."""

import oci
import pytest

models = oci.key_management.models


def test_new_key_starts_creating(emulator, kms, world, vault):
    details = models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name="new",
                                      key_shape=models.KeyShape(algorithm="AES", length=32), protection_mode="SOFTWARE")
    key = kms.management(vault).create_key(details).data
    assert key.lifecycle_state == "CREATING"
    assert kms.wait_key(vault, key.id).lifecycle_state == "ENABLED"
    version = kms.management(vault).get_key_version(key.id, key.current_key_version).data
    assert version.lifecycle_state == "ENABLED"
    assert version.origin == "INTERNAL"
    assert version.public_key is None


def test_disable_and_enable_key(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    client = kms.management(vault)
    assert client.disable_key(key.id).data.lifecycle_state == "DISABLING"
    kms.wait_key(vault, key.id, "DISABLED")
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.disable_key(key.id)
    assert failure.value.code == "IncorrectState"
    assert client.enable_key(key.id).data.lifecycle_state == "ENABLING"
    assert kms.wait_key(vault, key.id).lifecycle_state == "ENABLED"


def test_update_key_tags_and_name(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id, tags={"a": "1"})
    updated = kms.management(vault).update_key(key.id, models.UpdateKeyDetails(
        display_name="renamed", freeform_tags={"kms_key_backup_copied_versions": "2"})).data
    assert updated.display_name == "renamed"
    assert updated.freeform_tags == {"kms_key_backup_copied_versions": "2"}
    assert kms.management(vault).get_key(key.id).data.display_name == "renamed"


def test_schedule_and_cancel_key_deletion(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    client = kms.management(vault)
    scheduled = client.schedule_key_deletion(key.id, models.ScheduleKeyDeletionDetails()).data
    assert scheduled.lifecycle_state == "SCHEDULING_DELETION"
    pending = kms.wait_key(vault, key.id, "PENDING_DELETION")
    assert pending.time_of_deletion is not None
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.create_key_version(key.id)
    assert failure.value.code == "IncorrectState"
    assert client.cancel_key_deletion(key.id).data.lifecycle_state == "CANCELLING_DELETION"
    restored = kms.wait_key(vault, key.id)
    assert restored.time_of_deletion is None


def test_schedule_and_cancel_key_version_deletion(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    old_version = key.current_key_version
    kms.rotate(vault, key.id)
    client = kms.management(vault)
    client.schedule_key_version_deletion(key.id, old_version, models.ScheduleKeyVersionDeletionDetails())
    assert kms.wait_key_version(vault, key.id, old_version, "PENDING_DELETION").time_of_deletion is not None
    client.cancel_key_version_deletion(key.id, old_version)
    assert kms.wait_key_version(vault, key.id, old_version).lifecycle_state == "ENABLED"


def test_schedule_vault_deletion(kms, world, vault):
    client = kms.vault_client()
    assert client.schedule_vault_deletion(vault.id, models.ScheduleVaultDeletionDetails()).data.lifecycle_state == \
        "SCHEDULING_DELETION"
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.management(vault).create_key(models.CreateKeyDetails(
            compartment_id=world.main.compartment_id, display_name="late",
            key_shape=models.KeyShape(algorithm="AES", length=32)))
    assert failure.value.status == 409
    pending = kms.wait_state(client, lambda: client.get_vault(vault.id), "PENDING_DELETION")
    assert pending.time_of_deletion is not None
    client.cancel_vault_deletion(vault.id)
    assert kms.wait_state(client, lambda: client.get_vault(vault.id), "ACTIVE").time_of_deletion is None


def test_seeded_world_is_ready_at_once(emulator, kms, world):
    created = kms.admin.seed({"vaults": [{
        "tenancy_id": world.main.tenancy_id, "compartment_id": world.main.compartment_id, "region": "eu-frankfurt-1",
        "display_name": "seeded", "vault_type": "DEFAULT",
        "keys": [{"display_name": f"k{i}", "algorithm": "AES", "length": 32, "protection_mode": "SOFTWARE",
                  "versions": 3, "lifecycle_state": "ENABLED", "freeform_tags": {"team": "x"}} for i in range(20)]
        + [{"display_name": "rsa", "algorithm": "RSA", "length": 256, "protection_mode": "SOFTWARE", "versions": 2}],
    }]})
    vault_id = created["vaults"][0]["id"]
    vault = kms.vault_client().get_vault(vault_id).data
    assert vault.lifecycle_state == "ACTIVE"
    keys = oci.pagination.list_call_get_all_results(kms.management(vault).list_keys, world.main.compartment_id).data
    assert len(keys) == 21
    assert {key.lifecycle_state for key in keys} == {"ENABLED"}
    rsa_key = next(key for key in keys if key.algorithm == "RSA")
    versions = kms.management(vault).list_key_versions(rsa_key.id).data
    public_keys = {kms.management(vault).get_key_version(rsa_key.id, v.id).data.public_key for v in versions}
    assert len(public_keys) == 2


def test_secret_material_stays_in_process(emulator, kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    kms.management(vault).get_key(key.id)
    secrets = emulator.state.secret_material()
    assert len(secrets) == 1
    assert len(secrets[0]) == 32
