"""Tests of the original script's config keys and flags (kms_key_backup.legacy)."""

import argparse
import json

import pytest

from kms_key_backup import legacy
from kms_key_backup.errors import InvalidInputError

SOURCE_VAULT = "ocid1.vault.oc1.eu-frankfurt-1.aaaasource"
TARGET_VAULT = "ocid1.vault.oc1.eu-stockholm-1.aaaatarget"
COMPARTMENT = "ocid1.compartment.oc1..aaaacompartment"
KEY = "ocid1.key.oc1.eu-frankfurt-1.aaaakey"
VERSION = "ocid1.keyversion.oc1.eu-frankfurt-1.aaaaversion"

# The config file of the original README's copy example, with OCIDs of the right kinds.
COPY_CONFIG = {
    "ociconfig": "/home/myhome/.oci/config",
    "source_ociprofile": "my-config-fra",
    "source_region": "eu-frankfurt-1",
    "source_compartment": COMPARTMENT,
    "source_vault": SOURCE_VAULT,
    "source_key_ocid": KEY,
    "target_region": "eu-stockholm-1",
    "target_compartment": COMPARTMENT,
    "target_vault": TARGET_VAULT,
    "target_ociprofile": "my-config-ams",
    "wrapping_algorithm": "RSA_OAEP_AES_SHA256",
}


def parse(argv):
    parser = argparse.ArgumentParser()
    legacy.add_legacy_arguments(parser)
    return legacy.merge_config(parser.parse_args(argv))


def write_config(tmp_path, document):
    path = tmp_path / "kms_backup.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_copy_example_builds_job(tmp_path):
    path = write_config(tmp_path, COPY_CONFIG)

    config = parse(["--configfile", path, "--target_keyname", "test2", "--source_key_version", VERSION])
    job = legacy.to_job(config)

    assert job["source"] == {"region": "eu-frankfurt-1", "vault_id": SOURCE_VAULT, "compartment_ids": [COMPARTMENT]}
    assert job["targets"][0]["region"] == "eu-stockholm-1"
    assert job["targets"][0]["vault_id"] == TARGET_VAULT
    assert job["targets"][0]["display_name_template"] == "test2"
    assert job["selection"] == {"key_ids": [KEY]}
    assert job["versions"] == {"mode": "all"}
    assert any(line.startswith("source_key_version") for line in config.ignored)


def test_export_example_parses(tmp_path):
    document = {key: COPY_CONFIG[key] for key in
                ("ociconfig", "source_ociprofile", "source_region", "source_compartment", "source_vault", "wrapping_algorithm")}
    path = write_config(tmp_path, document)

    config = parse([
        "--configfile", path, "--target_keyname", "test1", "--source_key_ocid", KEY, "--exportonly",
        "--wrapping_pubkey_file", "export_pub.pem", "--source_key_version", VERSION,
    ])

    assert config.exportonly is True
    assert config.wrapping_pubkey_file == "export_pub.pem"
    assert config.source_key_version == VERSION
    assert "target_keyname: not used by exportonly" in config.ignored


def test_flag_overrides_file(tmp_path):
    path = write_config(tmp_path, COPY_CONFIG)

    config = parse(["--configfile", path, "--target_region", "eu-amsterdam-1"])

    assert config.target_region == "eu-amsterdam-1"


@pytest.mark.parametrize("flag", ["--outfile", "--outputfile"])
def test_outfile_spellings(tmp_path, flag):
    document = dict(COPY_CONFIG, exportonly=True, wrapping_pubkey_file="pub.pem")
    path = write_config(tmp_path, document)

    config = parse(["--configfile", path, flag, "out.json"])

    assert config.outputfile == "out.json"


def test_outfile_key_in_file(tmp_path):
    document = dict(COPY_CONFIG, exportonly=True, wrapping_pubkey_file="pub.pem", outfile="out.json")

    config = parse(["--configfile", write_config(tmp_path, document)])

    assert config.outputfile == "out.json"


def test_unknown_config_key_rejected(tmp_path):
    path = write_config(tmp_path, dict(COPY_CONFIG, target_vualt=TARGET_VAULT))

    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", path])

    assert "target_vualt" in caught.value.field
    assert "unknown config key" in caught.value.fix


@pytest.mark.parametrize(
    "key, value",
    [
        ("source_vault", KEY),
        ("target_vault", "ocid1.key.oc1.eu-stockholm-1.aaaa"),
        ("source_key_ocid", SOURCE_VAULT),
        ("source_key_version", KEY),
        ("target_compartment", SOURCE_VAULT),
        ("source_region", "Frankfurt"),
        ("wrapping_algorithm", "AES_KWP"),
    ],
)
def test_bad_value_names_field(tmp_path, key, value):
    path = write_config(tmp_path, dict(COPY_CONFIG, **{key: value}))

    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", path])

    assert caught.value.field == key
    assert caught.value.value == value


@pytest.mark.parametrize("key", ["source_region", "source_vault", "target_region", "target_vault", "target_compartment"])
def test_missing_required_key(tmp_path, key):
    document = dict(COPY_CONFIG)
    del document[key]

    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", write_config(tmp_path, document)])

    assert caught.value.field == key
    assert f"--{key}" in caught.value.fix


def test_exportonly_requires_pubkey(tmp_path):
    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", write_config(tmp_path, COPY_CONFIG), "--exportonly"])

    assert caught.value.field == "wrapping_pubkey_file"


def test_keyname_requires_compartment(tmp_path):
    document = dict(COPY_CONFIG, source_keyname="test")
    del document["source_key_ocid"]
    del document["source_compartment"]

    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", write_config(tmp_path, document)])

    assert caught.value.field == "source_compartment"


def test_keyname_selects_by_display_name(tmp_path):
    document = dict(COPY_CONFIG, source_keyname="payments")
    del document["source_key_ocid"]

    job = legacy.to_job(parse(["--configfile", write_config(tmp_path, document)]))

    assert job["selection"] == {"display_names": ["payments"]}
    assert "display_name_template" not in job["targets"][0]


def test_exportonly_in_file_must_be_boolean(tmp_path):
    path = write_config(tmp_path, dict(COPY_CONFIG, exportonly="yes"))

    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", path])

    assert caught.value.field == "exportonly"


def test_config_file_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")

    with pytest.raises(InvalidInputError) as caught:
        parse(["--configfile", str(path)])

    assert caught.value.field == "--configfile"


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--configfile", "x.json"], True),
        (["--exportonly"], True),
        (["--outfile=x"], True),
        (["sync", "--job", "x"], False),
        (["--help"], False),
        ([], False),
    ],
)
def test_is_legacy_invocation(argv, expected):
    assert legacy.is_legacy_invocation(argv) is expected
