"""The bad-input catalogue: each case breaks one input of one edge and expects a clear error and no write.

An edge is the CLI (`sync`, `export`, `restore`, the original script's flags and config file) or the
function runtime (its configuration variables and invocation payloads, events included). Every case
asserts that the error names the field, shows the value and gives a fix, and that the emulator's
call log holds no write call afterwards.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kms_key_backup import cli
from kms_key_backup.clients import ClientFactory
from kms_key_backup.function.runtime import FunctionRuntime

from badinput_helpers import SOURCE_REGION, TARGET_REGION, write_json

OTHER_REGION_VAULT = "ocid1.vault.oc1.eu-amsterdam-1.abcd1234.aaaaaaaaexample"
WRONG_REALM_VAULT = "ocid1.vault.oc2.eu-frankfurt-1.abcd1234.aaaaaaaaexample"
KEY_AS_VAULT = "ocid1.key.oc1.eu-frankfurt-1.abcd1234.aaaaaaaaexample"
DEADLINE = "2099-01-01T00:00:00Z"


@dataclass(frozen=True)
class Case:
    """One bad input: how to build it from the world, and what the error must name."""

    id: str
    change: Callable[[Any], Any]
    field: str
    value: str  # text the error message must show
    fix: str  # a word the fix must contain
    extra: dict = field(default_factory=dict)


def _job_with(path: str, value):
    """Return a change that sets one dotted path of the valid job (``targets.0.region``) to ``value``."""
    def change(world):
        job = world.job()
        node = job
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        last = parts[-1]
        if value is _DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value(world) if callable(value) else value
        return job
    return change


_DELETE = object()

JOB_CASES = [
    Case("missing source", _job_with("source", _DELETE), "job.source", "None", "source"),
    Case("missing targets", _job_with("targets", _DELETE), "job.targets", "None", "targets"),
    Case("empty targets", _job_with("targets", []), "job.targets", "[]", "vault"),
    Case("unknown top field", _job_with("target", {}), "job.target", "{}", "targets"),
    Case("region typo", _job_with("source.region", "eu-frankfurt1"), "job.source.region", "eu-frankfurt1",
         "region"),
    Case("unknown region", _job_with("source.region", "eu-atlantis-1"), "job.source.region", "eu-atlantis-1",
         "region"),
    Case("vault id of a key", _job_with("source.vault_id", KEY_AS_VAULT), "job.source.vault_id", KEY_AS_VAULT,
         "vault"),
    Case("vault of another region", _job_with("source.vault_id", OTHER_REGION_VAULT), "job.source.vault_id",
         OTHER_REGION_VAULT, "region"),
    Case("vault of another realm", _job_with("source.vault_id", WRONG_REALM_VAULT), "job.source.vault_id",
         WRONG_REALM_VAULT, "realm"),
    Case("target is the source", lambda w: {**w.job(), "targets": [{"region": SOURCE_REGION,
                                                                     "vault_id": w.source_vault_id,
                                                                     "compartment_id": w.compartment_id}]},
         "job.targets[0].vault_id", "ocid1.vault", "own vault"),
    Case("target compartment is a vault", _job_with("targets.0.compartment_id", lambda w: w.target_vault_id),
         "job.targets[0].compartment_id", "ocid1.vault", "compartment"),
    Case("protection mode external", _job_with("targets.0.protection_mode", "EXTERNAL"),
         "job.targets[0].protection_mode", "EXTERNAL", "SOFTWARE"),
    Case("template unknown field", _job_with("targets.0.display_name_template", "{name}-copy"),
         "job.targets[0].display_name_template", "{name}-copy", "{display_name}"),
    Case("key id of a vault", _job_with("selection.key_ids", [OTHER_REGION_VAULT]), "job.selection.key_ids[0]",
         OTHER_REGION_VAULT, "key"),
    Case("duplicate key ids", _job_with("selection.key_ids", lambda w: [w.key_id, w.key_id]),
         "job.selection.key_ids[1]", "ocid1.key", "duplicate"),
    Case("all keys and names", _job_with("selection", {"all_software_keys": True, "display_names": ["aes"]}),
         "job.selection.all_software_keys", "True", "not both"),
    Case("versions mode typo", _job_with("versions", {"mode": "latest"}), "job.versions.mode", "latest", "current"),
    Case("explicit without ids", _job_with("versions", {"mode": "explicit"}), "job.versions.version_ids", "[]",
         "version"),
    Case("concurrency zero", _job_with("options", {"concurrency": 0}), "job.options.concurrency", "0", "1"),
    Case("concurrency as text", _job_with("options", {"concurrency": "4"}), "job.options.concurrency", "'4'",
         "JSON integer"),
    Case("wrapping algorithm typo", _job_with("options", {"wrapping_algorithm": "RSA_OAEP_SHA1"}),
         "job.options.wrapping_algorithm", "RSA_OAEP_SHA1", "RSA_OAEP_AES_SHA256"),
    Case("rate above the limit", _job_with("options", {"requests_per_second": 5000}),
         "job.options.requests_per_second", "5000", "1000"),
    Case("job not an object", lambda world: [world.job()], "job", "[", "JSON object"),
    Case("job not JSON", lambda world: "{'source': 1}", "--job", "job.json", "JSON"),
]


def _run_cli(capsys, *argv) -> tuple[int, dict, str]:
    exit_code = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    document = json.loads(captured.out) if captured.out.strip().startswith("{") else {}
    return exit_code, document, captured.err


def _assert_rejected(world, field_name: str, value: str, fix_word: str, error: dict, message: str) -> None:
    assert error.get("field") == field_name, message
    assert value in message
    assert error.get("fix"), message
    assert fix_word.lower() in error["fix"].lower(), error["fix"]
    assert world.write_calls() == []


@pytest.mark.parametrize("case", JOB_CASES, ids=lambda case: case.id)
def test_sync_job_file_rejected(case, bad_world, capsys):
    job = case.change(bad_world)
    job_file = write_json(bad_world.directory / "job.json", job)

    exit_code, document, stderr = _run_cli(capsys, "sync", "--job", job_file, "--output", "json")

    assert exit_code == cli.EXIT_INVALID_INPUT
    _assert_rejected(bad_world, case.field, case.value, case.fix, document.get("error", {}), stderr)


# --- PEM files of `export --wrapping-public-key` ---------------------------------------------------

def _pem_public(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _pem_private(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def small_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


@pytest.fixture(scope="module")
def user_rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


PEM_CASES = [
    Case("private key as public", lambda keys: _pem_private(keys["rsa"]), "--wrapping-public-key", "pem", "public"),
    Case("EC public key", lambda keys: _pem_public(keys["ec"]), "--wrapping-public-key", "pem", "RSA"),
    Case("RSA 1024 bits", lambda keys: _pem_public(keys["small"]), "--wrapping-public-key", "pem", "2048"),
    Case("not PEM", lambda keys: b"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ user@host\n", "--wrapping-public-key",
         "pem", "PEM"),
    Case("truncated PEM", lambda keys: _pem_public(keys["rsa"])[:120], "--wrapping-public-key", "pem", "PEM"),
    Case("empty file", lambda keys: b"", "--wrapping-public-key", "pem", "PEM"),
]


@pytest.fixture
def pem_keys(small_rsa_key, user_rsa_key):
    return {"rsa": user_rsa_key, "small": small_rsa_key, "ec": ec.generate_private_key(ec.SECP256R1())}


def _export_argv(world, public_key_file) -> list:
    return ["export", "--region", SOURCE_REGION, "--vault-id", world.source_vault_id, "--key-id", world.key_id,
            "--wrapping-public-key", public_key_file, "--output-file", world.directory / "out.json",
            "--output", "json"]


@pytest.mark.parametrize("case", PEM_CASES, ids=lambda case: case.id)
def test_export_pem_file_rejected(case, bad_world, pem_keys, capsys):
    pem_file = bad_world.directory / "wrapping.pem"
    pem_file.write_bytes(case.change(pem_keys))

    exit_code, document, stderr = _run_cli(capsys, *_export_argv(bad_world, pem_file))

    assert exit_code == cli.EXIT_INVALID_INPUT
    _assert_rejected(bad_world, case.field, str(pem_file), case.fix, document.get("error", {}), stderr)
    assert not (bad_world.directory / "out.json").exists()


@pytest.mark.parametrize("line_ending, final_newline", [(b"\r\n", True), (b"\n", False)],
                         ids=["CRLF", "no final newline"])
def test_export_accepts_pem_variants(line_ending, final_newline, bad_world, user_rsa_key, capsys):
    text = _pem_public(user_rsa_key).replace(b"\n", line_ending)
    if not final_newline:
        text = text.rstrip(b"\r\n")
    pem_file = bad_world.directory / "wrapping.pem"
    pem_file.write_bytes(text)

    exit_code, _, stderr = _run_cli(capsys, *_export_argv(bad_world, pem_file))

    assert exit_code == cli.EXIT_OK, stderr
    assert (bad_world.directory / "out.json").exists()
    assert bad_world.write_calls() == []


# --- CLI flags ---------------------------------------------------------------------------------------

FLAG_CASES = [
    Case("export region unknown", lambda w: ["export", "--region", "mars-1", "--vault-id", w.source_vault_id,
                                             "--key-id", w.key_id], "--region", "mars-1", "region"),
    Case("export vault id of a key", lambda w: ["export", "--region", SOURCE_REGION, "--vault-id", w.key_id,
                                                "--key-id", w.key_id], "--vault-id", "ocid1.key", "vault"),
    Case("export key id of a vault", lambda w: ["export", "--region", SOURCE_REGION, "--vault-id",
                                                w.source_vault_id, "--key-id", w.source_vault_id],
         "--key-id", "ocid1.vault", "key"),
    Case("export version of another region",
         lambda w: ["export", "--region", SOURCE_REGION, "--vault-id", w.source_vault_id, "--key-id", w.key_id,
                    "--key-version-id", "ocid1.keyversion.oc1.eu-amsterdam-1.abcd.aaaaexample"],
         "--key-version-id", "eu-amsterdam-1", "region"),
    Case("restore file missing",
         lambda w: ["restore", "export.json", "--private-key", "private.pem", "--region", TARGET_REGION,
                    "--vault-id", w.target_vault_id, "--compartment-id", w.target_compartment_id],
         "FILE", "export.json", "export file"),
    Case("export vault of another region",
         lambda w: ["export", "--region", TARGET_REGION, "--vault-id", w.source_vault_id, "--key-id", w.key_id],
         "--vault-id", "eu-frankfurt-1", "region"),
]


# Known defects: the `export` subcommand checks --key-id and --key-version-id only by asking OCI, and
# its errors name the original script's config keys (source_key_ocid, source_key_version) instead
# of the flags the user typed.
FLAG_DEFECTS = {
    "export key id of a vault": "export reports a vault OCID given as --key-id as 'source_key_ocid' not found, "
                                "after a get_key call, instead of rejecting --key-id as not a key OCID",
    "export version of another region": "export reports --key-version-id as 'source_key_version' after API "
                                        "calls, instead of rejecting an OCID of another region up front",
}


def _flag_params():
    for case in FLAG_CASES:
        reason = FLAG_DEFECTS.get(case.id)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", _flag_params())
def test_cli_flag_rejected(case, bad_world, user_rsa_key, capsys):
    public_key_file = bad_world.directory / "wrapping.pem"
    public_key_file.write_bytes(_pem_public(user_rsa_key))
    argv = case.change(bad_world)
    if argv[0] == "export":
        argv += ["--wrapping-public-key", public_key_file]

    exit_code, document, stderr = _run_cli(capsys, *argv, "--output", "json")

    assert exit_code == cli.EXIT_INVALID_INPUT
    _assert_rejected(bad_world, case.field, case.value, case.fix, document.get("error", {}), stderr)


# --- the original script's config file ---------------------------------------------------------------

def _legacy_config(world, **changes) -> dict:
    document = {"ociconfig": world.config_file, "source_ociprofile": "DEFAULT", "source_region": SOURCE_REGION,
                "source_compartment": world.compartment_id, "source_vault": world.source_vault_id,
                "source_key_ocid": world.key_id, "target_region": TARGET_REGION,
                "target_vault": world.target_vault_id, "target_compartment": world.target_compartment_id}
    for name, value in changes.items():
        if value is None:
            document.pop(name)
        else:
            document[name] = value
    return document


LEGACY_CASES = [
    Case("unknown key", lambda w: _legacy_config(w, source_vault_ocid=w.source_vault_id),
         "--configfile key 'source_vault_ocid'", "kms_backup.json", "source_vault"),
    Case("missing source vault", lambda w: _legacy_config(w, source_vault=None), "source_vault", "None",
         "source_vault"),
    Case("wrapping algorithm typo", lambda w: _legacy_config(w, wrapping_algorithm="RSA_OAEP_AES"),
         "wrapping_algorithm", "RSA_OAEP_AES", "RSA_OAEP_AES_SHA256"),
    Case("exportonly as text", lambda w: _legacy_config(w, exportonly="yes"), "exportonly", "yes", "true"),
    Case("target is the source", lambda w: _legacy_config(w, target_vault=w.source_vault_id,
                                                          target_region=SOURCE_REGION),
         "target_vault", "ocid1.vault", "vault"),
    Case("key name without compartment", lambda w: _legacy_config(w, source_key_ocid=None, source_keyname="aes",
                                                                  source_compartment=None),
         "source_compartment", "None", "source_compartment"),
]


@pytest.mark.parametrize("case", LEGACY_CASES, ids=lambda case: case.id)
def test_legacy_config_file_rejected(case, bad_world, capsys):
    config_file = write_json(bad_world.directory / "kms_backup.json", case.change(bad_world))

    exit_code, document, stderr = _run_cli(capsys, "--configfile", config_file)

    # The original script's interface prints errors as text only: "invalid FIELD = VALUE: problem; fix".
    assert exit_code == cli.EXIT_INVALID_INPUT, stderr
    assert document == {}
    assert f"invalid {case.field} = " in stderr
    assert case.value in stderr
    assert case.fix.lower() in stderr.split(case.field, 1)[1].lower()
    assert bad_world.write_calls() == []


# --- the function: configuration variables and invocation payloads -------------------------------------

def _function_environment(world) -> dict:
    return {"KMS_BACKUP_SOURCE_REGION": SOURCE_REGION, "KMS_BACKUP_SOURCE_VAULT_ID": world.source_vault_id,
            "KMS_BACKUP_TARGETS": json.dumps(world.job()["targets"]),
            "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE": world.emulator.kms_endpoint_template,
            "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE": world.emulator.telemetry_endpoint_template}


def _invoke(world, environment: dict, body: bytes) -> dict:
    factory = ClientFactory(world.oci_config, kms_endpoint_template=world.emulator.kms_endpoint_template,
                            telemetry_endpoint_template=world.emulator.telemetry_endpoint_template)
    result = FunctionRuntime(environment, factory=factory).invoke(body, "call-1", DEADLINE)
    assert result.status_code == 502
    assert result.document["status"] == "invalid_input"
    return result.document["error"]


CONFIG_CASES = [
    Case("missing vault id", lambda env: env.pop("KMS_BACKUP_SOURCE_VAULT_ID"), "KMS_BACKUP_SOURCE_VAULT_ID",
         "None", "vault"),
    Case("targets not JSON", lambda env: env.update(KMS_BACKUP_TARGETS="[{region: eu-stockholm-1}]"),
         "KMS_BACKUP_TARGETS", "region: eu-stockholm-1", "JSON"),
    Case("targets of another realm", lambda env: env.update(KMS_BACKUP_TARGETS=json.dumps(
        [{"region": TARGET_REGION, "vault_id": WRONG_REALM_VAULT.replace("eu-frankfurt-1", TARGET_REGION),
          "compartment_id": "ocid1.compartment.oc1..aaaa"}])), "KMS_BACKUP_TARGETS", "oc2", "realm"),
    Case("concurrency not a number", lambda env: env.update(KMS_BACKUP_CONCURRENCY="lots"),
         "KMS_BACKUP_CONCURRENCY", "lots", "whole number"),
    Case("versions typo", lambda env: env.update(KMS_BACKUP_VERSIONS="latest"), "KMS_BACKUP_VERSIONS", "latest",
         "current"),
    Case("key tags not an object", lambda env: env.update(KMS_BACKUP_KEY_TAGS='["backup"]'),
         "KMS_BACKUP_KEY_TAGS", "backup", "object"),
    Case("deep verify not boolean", lambda env: env.update(KMS_BACKUP_DEEP_VERIFY="maybe"),
         "KMS_BACKUP_DEEP_VERIFY", "maybe", "true"),
    Case("source region unknown", lambda env: env.update(KMS_BACKUP_SOURCE_REGION="eu-atlantis-1"),
         "KMS_BACKUP_SOURCE_REGION", "eu-atlantis-1", "region"),
]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda case: case.id)
def test_function_configuration_rejected(case, bad_world):
    environment = _function_environment(bad_world)
    case.change(environment)

    error = _invoke(bad_world, environment, b"")

    _assert_rejected(bad_world, case.field, case.value, case.fix, error, error["message"])


def _event(world, **data) -> dict:
    event = {"eventType": "com.oraclecloud.keymanagementservice.createkeyversion.end", "cloudEventsVersion": "0.1",
             "eventTypeVersion": "2.0", "source": "KeyManagementService", "eventTime": "2026-12-04T10:00:00Z",
             "contentType": "application/json", "eventID": "e-1",
             "data": {"compartmentId": world.compartment_id, "resourceId": world.key_id}}
    for name, value in data.items():
        if value is _DELETE:
            event["data"].pop(name)
        else:
            event["data"][name] = value
    return event


PAYLOAD_CASES = [
    Case("oversized", lambda w: b'{"selection": {"display_names": ["' + b"x" * 70000 + b'"]}}', "payload",
         "bytes", "at most"),
    Case("not UTF-8", lambda w: b'{"selection": "\xff\xfe"}', "payload", "byte", "UTF-8"),
    Case("not JSON", lambda w: b"trigger=schedule", "payload", "bytes", "JSON"),
    Case("JSON array", lambda w: b"[1, 2]", "payload", "bytes", "object"),
    Case("unknown field", lambda w: json.dumps({"keys": ["aes"]}).encode(), "payload.keys", "aes", "selection"),
    Case("cloudevents 1.0", lambda w: json.dumps({"specversion": "1.0", "type": "x"}).encode(),
         "payload.specversion", "1.0", "Events"),
    Case("targets without authority", lambda w: json.dumps({"targets": [
        {"region": TARGET_REGION, "vault_id": OTHER_REGION_VAULT, "compartment_id": w.compartment_id}]}).encode(),
         "payload.targets[0].vault_id", OTHER_REGION_VAULT, "KMS_BACKUP_ALLOW_PAYLOAD_TARGETS"),
    Case("key id of a vault", lambda w: json.dumps({"selection": {"key_ids": [w.source_vault_id]}}).encode(),
         "payload.selection.key_ids[0]", "ocid1.vault", "key"),
    Case("event without resource id", lambda w: json.dumps(_event(w, resourceId=_DELETE)).encode(),
         "payload.data.resourceId", "None", "resourceId"),
    Case("event resource is a vault", lambda w: json.dumps(_event(w, resourceId=w.source_vault_id)).encode(),
         "payload.data.resourceId", "ocid1.vault", "key"),
    Case("event of another service", lambda w: json.dumps({**_event(w), "eventType":
                                                           "com.oraclecloud.objectstorage.createobject"}).encode(),
         "payload.eventType", "objectstorage", "rule"),
]


@pytest.mark.parametrize("case", PAYLOAD_CASES, ids=lambda case: case.id)
def test_function_payload_rejected(case, bad_world):
    error = _invoke(bad_world, _function_environment(bad_world), case.change(bad_world))

    _assert_rejected(bad_world, case.field, case.value, case.fix, error, error["message"])


def test_catalogue_has_forty_cases():
    cases = JOB_CASES + PEM_CASES + FLAG_CASES + LEGACY_CASES + CONFIG_CASES + PAYLOAD_CASES

    assert len(cases) >= 40
    assert len({(case.field, case.id) for case in cases}) == len(cases)
