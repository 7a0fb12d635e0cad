"""Payload authority: a payload may narrow the configured job, never widen or redirect it."""

import pytest

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.function.authority import apply_payload, payload_error
from kms_key_backup.job import parse_job

SOURCE_VAULT = "ocid1.vault.oc1.eu-frankfurt-1.source"
TARGET_A = {"region": "eu-stockholm-1", "vault_id": "ocid1.vault.oc1.eu-stockholm-1.targeta",
            "compartment_id": "ocid1.compartment.oc1..targets"}
TARGET_B = {"region": "eu-amsterdam-1", "vault_id": "ocid1.vault.oc1.eu-amsterdam-1.targetb",
            "compartment_id": "ocid1.compartment.oc1..targets"}
OTHER_VAULT = "ocid1.vault.oc1.eu-stockholm-1.attacker"
KEY_1 = "ocid1.key.oc1.eu-frankfurt-1.k1"
KEY_2 = "ocid1.key.oc1.eu-frankfurt-1.k2"
KEY_3 = "ocid1.key.oc1.eu-frankfurt-1.k3"


def configured_job(selection=None, versions=None, compartment_ids=None):
    source = {"region": "eu-frankfurt-1", "vault_id": SOURCE_VAULT}
    if compartment_ids:
        source["compartment_ids"] = compartment_ids
    return parse_job({
        "source": source,
        "targets": [TARGET_A, TARGET_B],
        "selection": selection or {},
        "versions": versions or {"mode": "all"},
        "options": {"concurrency": 4},
    })


def apply(fragment, job=None, allow_targets=False, allow_widen=False):
    merged = apply_payload(job or configured_job(), fragment, allow_targets=allow_targets,
                           allow_widen=allow_widen)
    return parse_job(merged)


def rejected(fragment, job=None, **flags):
    with pytest.raises(InvalidInputError) as raised:
        apply(fragment, job, **flags)
    return raised.value


def test_empty_fragment_keeps_configured_job():
    job = configured_job(selection={"display_names": ["payments"]})

    assert apply({}, job) == job


def test_dry_run_is_allowed():
    assert apply({"options": {"dry_run": True}}).options.dry_run is True


def test_subset_of_targets_is_allowed():
    job = apply({"targets": [{"vault_id": TARGET_B["vault_id"]}]})

    assert [target.vault_id for target in job.targets] == [TARGET_B["vault_id"]]
    assert job.targets[0].region == TARGET_B["region"]


def test_other_target_vault_is_rejected():
    error = rejected({"targets": [{"region": "eu-stockholm-1", "vault_id": OTHER_VAULT,
                                   "compartment_id": "ocid1.compartment.oc1..x"}]})

    assert error.field == "payload.targets[0].vault_id"
    assert error.value == OTHER_VAULT
    assert "KMS_BACKUP_ALLOW_PAYLOAD_TARGETS" in error.fix


@pytest.mark.parametrize("name, value", [
    ("region", "eu-amsterdam-1"),
    ("compartment_id", "ocid1.compartment.oc1..elsewhere"),
    ("protection_mode", "HSM"),
])
def test_changed_target_field_is_rejected(name, value):
    error = rejected({"targets": [{"vault_id": TARGET_A["vault_id"], name: value}]})

    assert error.field == f"payload.targets[0].{name}"


def test_other_target_allowed_by_configuration():
    other = {"region": "eu-stockholm-1", "vault_id": OTHER_VAULT,
             "compartment_id": "ocid1.compartment.oc1..x"}

    job = apply({"targets": [other]}, allow_targets=True)

    assert [target.vault_id for target in job.targets] == [OTHER_VAULT]


@pytest.mark.parametrize("name, value", [
    ("vault_id", "ocid1.vault.oc1.eu-frankfurt-1.othersource"),
    ("region", "eu-amsterdam-1"),
])
def test_changed_source_is_rejected(name, value):
    error = rejected({"source": {name: value}})

    assert error.field == f"payload.source.{name}"


def test_source_compartments_narrow_only():
    job = configured_job(compartment_ids=["ocid1.compartment.oc1..a", "ocid1.compartment.oc1..b"])

    narrowed = apply({"source": {"compartment_ids": ["ocid1.compartment.oc1..b"]}}, job)
    error = rejected({"source": {"compartment_ids": ["ocid1.compartment.oc1..c"]}}, job)

    assert narrowed.source.compartment_ids == ("ocid1.compartment.oc1..b",)
    assert error.field == "payload.source.compartment_ids"


def test_any_selection_narrows_select_everything():
    job = apply({"selection": {"key_ids": [KEY_3]}},
                configured_job(selection={"all_software_keys": True}))

    assert job.selection.key_ids == (KEY_3,)
    assert job.selection.all_software_keys is False


@pytest.mark.parametrize("configured, fragment", [
    ({"key_ids": [KEY_1, KEY_2]}, {"key_ids": [KEY_2]}),
    ({"display_names": ["payments", "orders"]}, {"display_names": ["orders"]}),
    ({"freeform_tags": {"backup": "true"}}, {"freeform_tags": {"backup": "true", "tier": "1"}}),
    ({"key_ids": [KEY_1], "display_names": ["orders"]}, {"display_names": ["orders"]}),
], ids=["key_ids", "display_names", "more_tags", "one_of_two_criteria"])
def test_narrower_selection_is_allowed(configured, fragment):
    job = apply({"selection": fragment}, configured_job(selection=configured))

    assert job.selection.key_ids == tuple(fragment.get("key_ids", ()))
    assert job.selection.display_names == tuple(fragment.get("display_names", ()))
    assert dict(job.selection.freeform_tags) == fragment.get("freeform_tags", {})


@pytest.mark.parametrize("configured, fragment, field", [
    ({"key_ids": [KEY_1]}, {"key_ids": [KEY_3]}, "payload.selection.key_ids[0]"),
    ({"display_names": ["payments"]}, {"display_names": ["admin"]},
     "payload.selection.display_names[0]"),
    ({"freeform_tags": {"backup": "true"}}, {"freeform_tags": {"tier": "1"}},
     "payload.selection.freeform_tags"),
    ({"display_names": ["payments"]}, {"freeform_tags": {"backup": "true"}},
     "payload.selection.freeform_tags"),
    ({"key_ids": [KEY_1]}, {"all_software_keys": True}, "payload.selection.all_software_keys"),
], ids=["other_key", "other_name", "other_tags", "tags_over_names", "all_keys"])
def test_wider_selection_is_rejected(configured, fragment, field):
    error = rejected({"selection": fragment}, configured_job(selection=configured))

    assert error.field == field
    assert "KMS_BACKUP_ALLOW_PAYLOAD_WIDEN" in error.fix


def test_wider_selection_allowed_by_configuration():
    job = apply({"selection": {"key_ids": [KEY_3]}},
                configured_job(selection={"key_ids": [KEY_1]}), allow_widen=True)

    assert job.selection.key_ids == (KEY_3,)


def test_configured_exclusions_always_apply():
    configured = configured_job(selection={"exclude_key_ids": [KEY_1],
                                           "exclude_display_names": ["scratch"]})

    job = apply({"selection": {"exclude_key_ids": [KEY_2]}}, configured, allow_widen=True)

    assert job.selection.exclude_key_ids == (KEY_1, KEY_2)
    assert job.selection.exclude_display_names == ("scratch",)


def test_all_versions_over_current_is_rejected():
    error = rejected({"versions": {"mode": "all"}}, configured_job(versions={"mode": "current"}))

    assert error.field == "payload.versions.mode"


def test_current_version_over_all_is_allowed():
    assert apply({"versions": {"mode": "current"}}).versions.mode == "current"


def test_higher_concurrency_is_rejected():
    error = rejected({"options": {"concurrency": 16}})

    assert error.field == "payload.options.concurrency"


def test_lower_concurrency_is_allowed():
    assert apply({"options": {"concurrency": 1}}).options.concurrency == 1


def test_unknown_option_is_rejected():
    error = rejected({"options": {"force": True}})

    assert error.field == "payload.options.force"


def test_parse_error_is_renamed_to_payload():
    merged = apply_payload(configured_job(), {"options": {"dry_run": "yes"}},
                           allow_targets=False, allow_widen=False)

    with pytest.raises(InvalidInputError) as raised:
        parse_job(merged)
    renamed = payload_error(raised.value)

    assert renamed.field == "payload.options.dry_run"
    assert renamed.value == "yes"
