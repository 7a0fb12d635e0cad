"""Resource-principal session tokens minted by the emulator, used by the SDK's own signer."""

import time

import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_emulator.testing import Kms

FUNCTION_ID = "ocid1.fnfunc.oc1.eu-frankfurt-1.emulatortest"


@pytest.fixture(scope="module")
def session_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _resource_principal_signer(monkeypatch, tmp_path, token: str, session_key):
    private_pem = session_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    pem_file = tmp_path / "rp.pem"
    pem_file.write_bytes(private_pem)
    token_file = tmp_path / "rpst"
    token_file.write_text(token)
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_VERSION", "2.2")
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_RPST", str(token_file))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM", str(pem_file))
    monkeypatch.setenv("OCI_RESOURCE_PRINCIPAL_REGION", "eu-frankfurt-1")
    return oci.auth.signers.get_resource_principals_signer()


def _mint(kms, world, session_key, ttl_seconds=600) -> str:
    public_pem = session_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return kms.admin.resource_principal_token(world.main.tenancy_id, world.main.compartment_id, FUNCTION_ID,
                                              public_pem, ttl_seconds)


def test_resource_principal_reads_vault(emulator, kms, world, vault, session_key, monkeypatch, tmp_path):
    signer = _resource_principal_signer(monkeypatch, tmp_path, _mint(kms, world, session_key), session_key)
    function = Kms(emulator, {"region": "eu-frankfurt-1"}, signer=signer)
    assert function.vault_client().get_vault(vault.id).data.id == vault.id
    call = function.admin.calls(operation="GetVault")[-1]
    assert call["principal"] == FUNCTION_ID
    assert call["tenancy_id"] == world.main.tenancy_id


def test_expired_token_is_not_authenticated(emulator, kms, world, vault, session_key, monkeypatch, tmp_path):
    token = _mint(kms, world, session_key, ttl_seconds=1)
    signer = _resource_principal_signer(monkeypatch, tmp_path, token, session_key)
    time.sleep(2.1)  # the token's exp claim has one-second resolution
    function = Kms(emulator, {"region": "eu-frankfurt-1"}, signer=signer)
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        function.vault_client().get_vault(vault.id)
    assert failure.value.status == 401
    assert failure.value.code == "NotAuthenticated"


def test_token_signed_by_other_key_is_rejected(emulator, kms, world, vault, session_key, monkeypatch, tmp_path):
    token = _mint(kms, world, session_key)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = _resource_principal_signer(monkeypatch, tmp_path, token, stranger)
    function = Kms(emulator, {"region": "eu-frankfurt-1"}, signer=signer)
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        function.vault_client().get_vault(vault.id)
    assert failure.value.status == 401


def test_token_for_unknown_tenancy_is_refused(kms, session_key):
    from kms_emulator.admin import AdminError

    public_pem = session_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(AdminError) as failure:
        kms.admin.resource_principal_token("ocid1.tenancy.oc1..nobody", "ocid1.compartment.oc1..x", FUNCTION_ID,
                                           public_pem)
    assert failure.value.status == 400
