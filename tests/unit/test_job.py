"""parse_job: defaults, the schema, the rules beyond it, and docs/job.md."""

from __future__ import annotations

import copy
import json
import pathlib
import re

import pytest

from kms_key_backup.errors import InvalidInputError
from kms_key_backup.job import JOB_SCHEMA, parse_job

SOURCE_VAULT = "ocid1.vault.oc1.eu-frankfurt-1.aaaa.source"
TARGET_VAULT = "ocid1.vault.oc1.eu-stockholm-1.bbbb.target"
COMPARTMENT = "ocid1.compartment.oc1..cccc"
KEY = "ocid1.key.oc1.eu-frankfurt-1.aaaa.key1"
KEY_VERSION = "ocid1.keyversion.oc1.eu-frankfurt-1.aaaa.version1"
DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "job.md"


def minimal() -> dict:
    return {"source": {"region": "eu-frankfurt-1", "vault_id": SOURCE_VAULT},
            "targets": [{"region": "eu-stockholm-1", "vault_id": TARGET_VAULT, "compartment_id": COMPARTMENT}]}


def with_change(path: str, value) -> dict:
    """Return the minimal job with one field set; `path` is dotted, list indexes as numbers."""
    data = minimal()
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[parts[-1]] = value
    return data


def test_minimal_job_gets_defaults():
    job = parse_job(minimal())

    assert job.source.compartment_ids == ()
    assert job.targets[0].protection_mode == "SOFTWARE"
    assert job.targets[0].display_name_template == "{display_name}"
    assert job.selection.selects_everything
    assert job.versions.mode == "all"
    assert job.options.wrapping_algorithm == "RSA_OAEP_AES_SHA256"
    assert job.options.concurrency == 8
    assert job.options.deadline_seconds is None
    assert job.options.requests_per_second == 10.0


def test_parse_job_does_not_change_its_input():
    data = minimal()
    before = copy.deepcopy(data)

    parse_job(data)

    assert data == before


def test_to_dict_round_trips():
    job = parse_job(with_change("selection.display_names", ["a", "b"]))

    assert parse_job(job.to_dict()) == job


def test_region_key_in_vault_ocid_is_accepted():
    job = parse_job(with_change("source.vault_id", "ocid1.vault.oc1.fra.aaaa.source"))

    assert job.source.vault_id == "ocid1.vault.oc1.fra.aaaa.source"


INVALID = [
    ("not an object", None, ["a list"], "job"),
    ("missing source", "source", "__delete__", "job.source"),
    ("missing target vault", "targets.0.vault_id", "__delete__", "job.targets[0].vault_id"),
    ("unknown top-level field", "sources", {}, "job.sources"),
    ("unknown option", "options.dryrun", True, "job.options.dryrun"),
    ("empty targets", "targets", [], "job.targets"),
    ("unknown region", "source.region", "eu-frankfurt-9", "job.source.region"),
    ("malformed region", "source.region", "Frankfurt", "job.source.region"),
    ("vault of another region", "source.vault_id", "ocid1.vault.oc1.eu-paris-1.aaaa.x", "job.source.vault_id"),
    ("key OCID as vault", "source.vault_id", KEY, "job.source.vault_id"),
    ("vault as compartment", "targets.0.compartment_id", TARGET_VAULT, "job.targets[0].compartment_id"),
    ("target equals source", "targets.0.vault_id", SOURCE_VAULT, "job.targets[0].vault_id"),
    ("bad protection mode", "targets.0.protection_mode", "EXTERNAL", "job.targets[0].protection_mode"),
    ("unknown template field", "targets.0.display_name_template", "{name}-dr", "job.targets[0].display_name_template"),
    ("unbalanced template", "targets.0.display_name_template", "{display_name", "job.targets[0].display_name_template"),
    ("version OCID as key", "selection.key_ids", [KEY_VERSION], "job.selection.key_ids[0]"),
    ("duplicate key id", "selection.key_ids", [KEY, KEY], "job.selection.key_ids[1]"),
    ("tag value not a string", "selection.freeform_tags", {"team": 1}, "job.selection.freeform_tags.team"),
    ("all keys with names", "selection", {"all_software_keys": True, "display_names": ["a"]},
     "job.selection.all_software_keys"),
    ("explicit without ids", "versions", {"mode": "explicit"}, "job.versions.version_ids"),
    ("ids without explicit", "versions", {"version_ids": [KEY_VERSION]}, "job.versions.mode"),
    ("unknown version mode", "versions.mode", "latest", "job.versions.mode"),
    ("bad wrapping algorithm", "options.wrapping_algorithm", "RSA_OAEP_SHA1", "job.options.wrapping_algorithm"),
    ("zero concurrency", "options.concurrency", 0, "job.options.concurrency"),
    ("too much concurrency", "options.concurrency", 33, "job.options.concurrency"),
    ("boolean concurrency", "options.concurrency", True, "job.options.concurrency"),
    ("string deadline", "options.deadline_seconds", "60", "job.options.deadline_seconds"),
    ("negative deadline", "options.deadline_seconds", -1, "job.options.deadline_seconds"),
    ("string dry run", "options.dry_run", "yes", "job.options.dry_run"),
]


@pytest.mark.parametrize("path,value,field", [case[1:] for case in INVALID], ids=[case[0] for case in INVALID])
def test_invalid_job_names_the_field(path, value, field):
    if path is None:
        data = value
    elif value == "__delete__":
        data = minimal()
        node = data
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[parts[-1]]
    else:
        data = with_change(path, value)

    with pytest.raises(InvalidInputError) as error:
        parse_job(data)

    assert error.value.field == field
    assert error.value.fix
    assert field in str(error.value)


def test_invalid_value_is_in_message():
    with pytest.raises(InvalidInputError) as error:
        parse_job(with_change("source.region", "eu-frankfurt-9"))

    assert error.value.value == "eu-frankfurt-9"
    assert "'eu-frankfurt-9'" in str(error.value)


def test_docs_schema_matches_code():
    text = DOCS.read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, flags=re.S)
    documented = [json.loads(block) for block in blocks if '"$schema"' in block]

    assert documented == [JOB_SCHEMA]


def test_docs_example_is_valid():
    text = DOCS.read_text()
    example = json.loads(re.findall(r"```json\n(.*?)```", text, flags=re.S)[0])

    job = parse_job(example)

    assert job.to_dict() == example


def test_every_option_is_documented():
    text = DOCS.read_text()
    for section in ("source", "selection", "versions", "options"):
        for name in JOB_SCHEMA["properties"][section]["properties"]:
            assert f"`{section}.{name}`" in text, f"{section}.{name} is missing from docs/job.md"
    for name in JOB_SCHEMA["properties"]["targets"]["items"]["properties"]:
        assert f"`targets[].{name}`" in text, f"targets[].{name} is missing from docs/job.md"
