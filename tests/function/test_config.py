"""Reading the KMS_BACKUP_* configuration variables into a FunctionConfig."""

import json

import pytest

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.function import config as cfg

SOURCE_VAULT = "ocid1.vault.oc1.eu-frankfurt-1.source"
TARGETS = [{"region": "eu-stockholm-1", "vault_id": "ocid1.vault.oc1.eu-stockholm-1.target",
            "compartment_id": "ocid1.compartment.oc1..target"}]


def minimal_environment(**overrides):
    environment = {
        cfg.SOURCE_REGION: "eu-frankfurt-1",
        cfg.SOURCE_VAULT_ID: SOURCE_VAULT,
        cfg.TARGETS: json.dumps(TARGETS),
    }
    environment.update(overrides)
    return environment


def test_minimal_config_builds_default_job():
    config = cfg.load_config(minimal_environment())
    job = config.job.to_dict()

    assert job["source"] == {"region": "eu-frankfurt-1", "vault_id": SOURCE_VAULT,
                             "compartment_ids": []}
    assert [target["vault_id"] for target in job["targets"]] == [TARGETS[0]["vault_id"]]
    assert job["targets"][0]["protection_mode"] == "SOFTWARE"
    assert config.job.selection.selects_everything
    assert job["versions"]["mode"] == "all"
    assert job["options"]["wrapping_algorithm"] == "RSA_OAEP_AES_SHA256"
    assert job["options"]["deep_verify"] is False
    assert job["options"]["concurrency"] == 8
    assert config.allow_payload_targets is False
    assert config.allow_payload_widen is False
    assert config.metrics_namespace == "kms_key_backup"
    assert config.deadline_margin_seconds == 20.0
    assert config.log_payload is False
    assert config.kms_endpoint_template is None


def test_full_config_maps_every_variable():
    config = cfg.load_config(minimal_environment(**{
        cfg.SOURCE_COMPARTMENT_IDS: "ocid1.compartment.oc1..a, ocid1.compartment.oc1..b",
        cfg.KEY_IDS: "ocid1.key.oc1..k1,ocid1.key.oc1..k2",
        cfg.KEY_NAMES: "payments,orders",
        cfg.KEY_TAGS: '{"backup": "true"}',
        cfg.EXCLUDE_KEY_IDS: "ocid1.key.oc1..k3",
        cfg.EXCLUDE_KEY_NAMES: "scratch",
        cfg.VERSIONS: "Current",
        cfg.WRAPPING_ALGORITHM: "RSA_OAEP_SHA256",
        cfg.DEEP_VERIFY: "true",
        cfg.CONCURRENCY: "8",
        cfg.REQUESTS_PER_SECOND: "25",
        cfg.ALLOW_PAYLOAD_TARGETS: "true",
        cfg.ALLOW_PAYLOAD_WIDEN: "yes",
        cfg.METRICS_NAMESPACE: "dr_keys",
        cfg.METRICS_COMPARTMENT_ID: "ocid1.compartment.oc1..metrics",
        cfg.DEADLINE_MARGIN_SECONDS: "2.5",
        cfg.LOG_LEVEL: "debug",
        cfg.LOG_PAYLOAD: "true",
        cfg.KMS_ENDPOINT_TEMPLATE: "http://127.0.0.1:9/kms/{region}",
        cfg.TELEMETRY_ENDPOINT_TEMPLATE: "http://127.0.0.1:9/telemetry/{region}",
    }))

    job = config.job.to_dict()

    assert job["source"]["compartment_ids"] == ["ocid1.compartment.oc1..a",
                                                "ocid1.compartment.oc1..b"]
    assert job["selection"] == {
        "key_ids": ["ocid1.key.oc1..k1", "ocid1.key.oc1..k2"],
        "display_names": ["payments", "orders"],
        "freeform_tags": {"backup": "true"},
        "all_software_keys": False,
        "exclude_key_ids": ["ocid1.key.oc1..k3"],
        "exclude_display_names": ["scratch"],
    }
    assert job["versions"]["mode"] == "current"
    assert job["options"]["wrapping_algorithm"] == "RSA_OAEP_SHA256"
    assert job["options"]["deep_verify"] is True
    assert job["options"]["concurrency"] == 8
    assert job["options"]["requests_per_second"] == 25.0
    assert config.allow_payload_targets is True
    assert config.allow_payload_widen is True
    assert config.metrics_namespace == "dr_keys"
    assert config.metrics_compartment_id == "ocid1.compartment.oc1..metrics"
    assert config.deadline_margin_seconds == 2.5
    assert config.log_level == "DEBUG"
    assert config.log_payload is True
    assert config.kms_endpoint_template == "http://127.0.0.1:9/kms/{region}"
    assert config.telemetry_endpoint_template == "http://127.0.0.1:9/telemetry/{region}"


def test_all_software_keys_flag_is_read():
    config = cfg.load_config(minimal_environment(**{cfg.ALL_SOFTWARE_KEYS: "TRUE"}))

    assert config.job.selection.all_software_keys is True


@pytest.mark.parametrize("variable, value", [
    (cfg.SOURCE_REGION, "mars-north-1"),
    (cfg.SOURCE_VAULT_ID, "ocid1.key.oc1.eu-frankfurt-1.notavault"),
    (cfg.TARGETS, json.dumps([{"region": "eu-stockholm-1"}])),
    (cfg.KEY_IDS, "ocid1.vault.oc1..notakey"),
])
def test_job_error_names_variable(variable, value):
    with pytest.raises(InvalidInputError) as raised:
        cfg.load_config(minimal_environment(**{variable: value}))

    assert raised.value.field == variable


def test_empty_namespace_disables_metrics():
    config = cfg.load_config(minimal_environment(**{cfg.METRICS_NAMESPACE: ""}))

    assert config.metrics_namespace == ""


def test_unknown_variable_is_reported():
    config = cfg.load_config(minimal_environment(KMS_BACKUP_KEY_NAME="payments"))

    assert config.unknown_variables == ("KMS_BACKUP_KEY_NAME",)


@pytest.mark.parametrize("variable, value, expected_words", [
    (cfg.SOURCE_REGION, None, "missing"),
    (cfg.SOURCE_VAULT_ID, "  ", "missing"),
    (cfg.TARGETS, None, "missing"),
    (cfg.TARGETS, "[{", "not valid JSON"),
    (cfg.TARGETS, "[]", "non-empty JSON array"),
    (cfg.TARGETS, '{"region": "x"}', "non-empty JSON array"),
    (cfg.KEY_IDS, "ocid1.key.a,,ocid1.key.b", "empty item"),
    (cfg.KEY_TAGS, "backup=true", "not valid JSON"),
    (cfg.KEY_TAGS, '{"backup": true}', "JSON object of strings"),
    (cfg.ALL_SOFTWARE_KEYS, "maybe", "not a boolean"),
    (cfg.VERSIONS, "latest", "not a supported value"),
    (cfg.WRAPPING_ALGORITHM, "rsa_oaep_sha1", "not a supported value"),
    (cfg.CONCURRENCY, "four", "not an integer"),
    (cfg.CONCURRENCY, "0", "out of range"),
    (cfg.DEADLINE_MARGIN_SECONDS, "-1", "out of range"),
    (cfg.DEADLINE_MARGIN_SECONDS, "soon", "not a number"),
    (cfg.REQUESTS_PER_SECOND, "0", "out of range"),
    (cfg.METRICS_NAMESPACE, "9lives", "not a valid OCI Monitoring namespace"),
    (cfg.METRICS_NAMESPACE, "oci_kms", "reserved"),
    (cfg.METRICS_COMPARTMENT_ID, "ocid1.vault.oc1..x", "not a compartment OCID"),
    (cfg.LOG_LEVEL, "TRACE", "not a supported value"),
    (cfg.KMS_ENDPOINT_TEMPLATE, "http://127.0.0.1:9/kms", "no {region} placeholder"),
], ids=lambda item: item if isinstance(item, str) else None)
def test_bad_variable_is_rejected_with_its_name(variable, value, expected_words):
    environment = minimal_environment()
    if value is None:
        environment.pop(variable, None)
    else:
        environment[variable] = value

    with pytest.raises(InvalidInputError) as raised:
        cfg.load_config(environment)

    assert raised.value.field == variable
    assert expected_words in raised.value.problem
    assert raised.value.fix
    assert variable in str(raised.value)


@pytest.mark.parametrize("job_field, variable", [
    ("source.region", cfg.SOURCE_REGION),
    ("source.vault_id", cfg.SOURCE_VAULT_ID),
    ("source.compartment_ids[1]", cfg.SOURCE_COMPARTMENT_IDS),
    ("targets[0].vault_id", cfg.TARGETS),
    ("selection.display_names[0]", cfg.KEY_NAMES),
    ("selection.exclude_key_ids", cfg.EXCLUDE_KEY_IDS),
    ("versions.mode", cfg.VERSIONS),
    ("options.concurrency", cfg.CONCURRENCY),
])
def test_job_field_maps_to_variable(job_field, variable):
    assert cfg.variable_for_job_field(job_field) == variable


def test_unknown_job_field_maps_to_nothing():
    assert cfg.variable_for_job_field("options.dry_run") is None
