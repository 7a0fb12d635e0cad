"""The --auth methods against the emulator: api_key, security_token and resource_principal sign real calls."""

import json

import pytest
from cryptography.hazmat.primitives import serialization

from kms_emulator import AdminClient
from kms_key_backup import auth
from kms_key_backup.errors import InvalidInputError


def write_job(tmp_path, cli_world):
    job = {"source": {"region": "eu-frankfurt-1", "vault_id": cli_world.source_vault_id},
           "targets": [{"region": "eu-stockholm-1", "vault_id": cli_world.target_vault_id,
                        "compartment_id": cli_world.compartment_id}]}
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return str(path)


def mint_token(cli_world, world, user_wrapping_key):
    public_pem = user_wrapping_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return AdminClient(cli_world.server.url).resource_principal_token(
        world.main.tenancy_id, world.main.compartment_id, "ocid1.fnfunc.oc1.eu-frankfurt-1.aaaatest", public_pem)


def test_resource_principal_doctor(run_cli, cli_world, world, user_wrapping_key, tmp_path, monkeypatch):
    token = mint_token(cli_world, world, user_wrapping_key)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_RPST", token)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", cli_world.private_key_file)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", "eu-frankfurt-1")

    result = run_cli("doctor", "--job", write_job(tmp_path, cli_world), "--auth", "resource_principal", "--output", "json")

    assert result.exit_code == 0, result.stdout + result.stderr
    principals = {call["principal"] for call in AdminClient(cli_world.server.url).calls()}
    assert len(principals) == 1
    assert "ocid1.fnfunc" in principals.pop()


def test_security_token_doctor(run_cli, cli_world, world, user_wrapping_key, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(mint_token(cli_world, world, user_wrapping_key))
    config_file = tmp_path / "session_config"
    config_file.write_text(
        f"[session]\ntenancy={world.main.tenancy_id}\nregion=eu-frankfurt-1\n"
        f"fingerprint=00:00\nkey_file={cli_world.private_key_file}\nsecurity_token_file={token_file}\n")

    result = run_cli("doctor", "--job", write_job(tmp_path, cli_world), "--auth", "security_token",
                     "--config-file", str(config_file), "--profile", "session")

    assert result.exit_code == 0, result.stdout + result.stderr


def test_resource_principal_outside_functions(monkeypatch):
    monkeypatch.delenv("OCI_RESOURCE_PRINCIPAL_VERSION", raising=False)

    with pytest.raises(InvalidInputError) as caught:
        auth.load_auth("resource_principal")

    assert caught.value.field == "--auth"


def test_security_token_needs_token_file(tmp_path, cli_world):
    with pytest.raises(InvalidInputError) as caught:
        auth.load_auth("security_token", cli_world.config_file, "DEFAULT")

    assert "security_token_file" in caught.value.fix


def test_missing_config_file(tmp_path):
    with pytest.raises(InvalidInputError) as caught:
        auth.load_auth("api_key", str(tmp_path / "absent"), "DEFAULT")

    assert caught.value.field == "--config-file"


def test_instance_principal_uses_sdk_signer(monkeypatch):
    # The real signer calls the instance metadata service, so a stand-in records the call instead.
    class StandInSigner:
        region = "eu-frankfurt-1"
        tenancy_id = "ocid1.tenancy.oc1..aaaatest"

    monkeypatch.setattr(auth.oci.auth.signers, "InstancePrincipalsSecurityTokenSigner", StandInSigner)

    config, signer = auth.load_auth("instance_principal")

    assert isinstance(signer, StandInSigner)
    assert config == {"region": "eu-frankfurt-1", "tenancy": "ocid1.tenancy.oc1..aaaatest"}
