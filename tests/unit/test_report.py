"""Report status and verification helpers."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from kms_key_backup.report import CREATE, NOTHING, KeyResult, Report, TargetResult, VersionResult
from kms_key_backup.verify import EphemeralWrappingKey, public_keys_equal


def _pair(action=CREATE, **fields) -> TargetResult:
    return TargetResult(target_region="eu-stockholm-1", target_vault_id="ocid1.vault.t", action=action, **fields)


def _copied(verified=True) -> VersionResult:
    return VersionResult("ocid1.keyversion.s", "ocid1.keyversion.t", "import_integrity", verified)


def _report(*targets, unsupported=False, left=False, error=None) -> Report:
    report = Report(run_id="r")
    report.add_key(KeyResult("ocid1.key.a", targets=list(targets)))
    if unsupported:
        report.add_key(KeyResult("ocid1.key.hsm", reason="HSM-protected"))
    if left:
        report.add_left("ocid1.key.later")
    report.error = error
    return report


STATUS_CASES = [
    ("all copied", dict(targets=[_pair(versions_copied=[_copied()])]), "ok"),
    ("nothing to do", dict(targets=[_pair(NOTHING)]), "ok"),
    ("unsupported key", dict(targets=[_pair(NOTHING)], unsupported=True), "partial"),
    ("key left by deadline", dict(targets=[_pair(NOTHING)], left=True), "partial"),
    ("skipped version", dict(targets=[_pair(versions_copied=[_copied()],
                                            versions_skipped=[{"key_version_id": "v", "reason": "DISABLED"}])]),
     "partial"),
    ("one of two failed", dict(targets=[_pair(versions_copied=[_copied()]), _pair(error={"message": "x"})]),
     "partial"),
    ("every pair failed", dict(targets=[_pair(error={"message": "x"})]), "failed"),
    ("verification failed", dict(targets=[_pair(versions_copied=[_copied(False)]),
                                          _pair(versions_copied=[_copied()])]), "partial"),
    ("run error", dict(targets=[], error={"step": "preflight", "message": "x"}), "failed"),
]


@pytest.mark.parametrize("arguments,status", [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES])
def test_report_status(arguments, status):
    arguments = dict(arguments)
    report = _report(*arguments.pop("targets"), **arguments)

    assert report.status == status
    assert report.to_dict()["status"] == status


def _pem(private_key) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_public_keys_equal_ignores_pem_layout():
    key = rsa.generate_private_key(65537, 2048)
    pem = _pem(key)

    assert public_keys_equal(pem, pem.replace("\n", "\r\n"))
    assert not public_keys_equal(pem, _pem(rsa.generate_private_key(65537, 2048)))
    assert not public_keys_equal(pem, None)


def _wrap(public_pem: str, material: bytes) -> str:
    public_key = serialization.load_pem_public_key(public_pem.encode())
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    aes_key = os.urandom(32)
    return base64.b64encode(public_key.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)).decode()


def test_ephemeral_key_digests_equal_material_equally():
    ephemeral = EphemeralWrappingKey()
    material = os.urandom(32)

    first = ephemeral.material_digest(_wrap(ephemeral.public_pem(), material), "RSA_OAEP_AES_SHA256")
    second = ephemeral.material_digest(_wrap(ephemeral.public_pem(), material), "RSA_OAEP_AES_SHA256")
    other = ephemeral.material_digest(_wrap(ephemeral.public_pem(), os.urandom(32)), "RSA_OAEP_AES_SHA256")

    assert first == second
    assert first != other


def test_ephemeral_key_rejects_foreign_blob_without_detail():
    ephemeral = EphemeralWrappingKey()
    foreign = _pem(rsa.generate_private_key(65537, 2048))

    with pytest.raises(ValueError) as error:
        ephemeral.material_digest(_wrap(foreign, b"k" * 32), "RSA_OAEP_AES_SHA256")

    assert str(error.value) == "the exported key did not unwrap under the ephemeral key"
