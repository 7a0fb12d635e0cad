"""Listing: paging with opc-next-page, filters, sorting, vault usage."""

import oci
import pytest

models = oci.key_management.models


@pytest.fixture
def five_keys(kms, world, vault):
    shapes = [("AES", 32), ("AES", 16), ("RSA", 256), ("AES", 32), ("ECDSA", 32)]
    keys = []
    for index, (algorithm, length) in enumerate(shapes):
        curve_id = "NIST_P256" if algorithm == "ECDSA" else None
        mode = "HSM" if index == 3 else "SOFTWARE"
        keys.append(kms.create_key(vault, world.main.compartment_id, algorithm, length, mode, name=f"key-{4 - index}",
                                   curve_id=curve_id))
    return keys


def test_list_keys_pages_through_all(kms, world, vault, five_keys):
    client = kms.management(vault)
    first = client.list_keys(world.main.compartment_id, limit=2)
    assert len(first.data) == 2
    assert first.next_page
    everything = oci.pagination.list_call_get_all_results(client.list_keys, world.main.compartment_id, limit=2).data
    assert sorted(key.id for key in everything) == sorted(key.id for key in five_keys)


def test_list_keys_default_order_is_newest_first(kms, world, vault, five_keys):
    listed = kms.management(vault).list_keys(world.main.compartment_id).data
    assert [key.id for key in listed] == [key.id for key in reversed(five_keys)]


def test_list_keys_sorts_by_display_name(kms, world, vault, five_keys):
    listed = kms.management(vault).list_keys(world.main.compartment_id, sort_by="DISPLAYNAME").data
    assert [key.display_name for key in listed] == ["key-0", "key-1", "key-2", "key-3", "key-4"]
    listed = kms.management(vault).list_keys(world.main.compartment_id, sort_by="DISPLAYNAME", sort_order="DESC").data
    assert listed[0].display_name == "key-4"


@pytest.mark.parametrize("filters, expected", [
    ({"protection_mode": "HSM"}, 1),
    ({"protection_mode": "SOFTWARE"}, 4),
    ({"algorithm": "AES"}, 3),
    ({"algorithm": "AES", "length": 32}, 2),
    ({"algorithm": "ECDSA", "curve_id": "NIST_P256"}, 1),
])
def test_list_keys_filters(kms, world, vault, five_keys, filters, expected):
    listed = kms.management(vault).list_keys(world.main.compartment_id, **filters).data
    assert len(listed) == expected


def test_list_keys_is_per_compartment(kms, world, vault, five_keys):
    other = kms.create_key(vault, world.main.second_compartment_id, name="elsewhere")
    listed = kms.management(vault).list_keys(world.main.second_compartment_id).data
    assert [key.id for key in listed] == [other.id]


def test_key_summary_fields(kms, world, vault, five_keys):
    summary = kms.management(vault).list_keys(world.main.compartment_id, algorithm="RSA").data[0]
    assert summary.algorithm == "RSA"
    assert summary.vault_id == vault.id
    assert summary.protection_mode == "SOFTWARE"
    assert summary.lifecycle_state == "ENABLED"


def test_bad_page_token_is_invalid(kms, world, vault):
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.management(vault).list_keys(world.main.compartment_id, page="not-a-token")
    assert failure.value.status == 400


def test_key_versions_list_in_order(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    created = [key.current_key_version] + [kms.rotate(vault, key.id).id for _ in range(3)]
    client = kms.management(vault)
    ascending = oci.pagination.list_call_get_all_results(client.list_key_versions, key.id, limit=3,
                                                         sort_by="TIMECREATED", sort_order="ASC").data
    assert [version.id for version in ascending] == created
    assert client.get_key(key.id).data.current_key_version == created[-1]


def test_list_vaults_and_usage(kms, world, vault):
    kms.create_key(vault, world.main.compartment_id, name="soft")
    hsm = kms.create_key(vault, world.main.compartment_id, protection_mode="HSM", name="hsm")
    kms.rotate(vault, hsm.id)
    client = kms.vault_client()
    listed = client.list_vaults(world.main.compartment_id).data
    assert [item.id for item in listed] == [vault.id]
    assert listed[0].management_endpoint == vault.management_endpoint
    usage = client.get_vault_usage(vault.id).data
    assert usage.software_key_count == 1
    assert usage.software_key_version_count == 1
    assert usage.key_count == 1
    assert usage.key_version_count == 2
