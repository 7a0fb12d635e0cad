"""Tests of the local unwrap and re-wrap of OCI export blobs (kms_key_backup.keywrap)."""

import json
import pathlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from kms_key_backup import keywrap

VECTORS = json.loads((pathlib.Path(__file__).parent.parent / "vectors" / "rfc5649.json").read_text())


@pytest.fixture(scope="module")
def rsa_private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_private_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def oaep_encrypt(public_key, data):
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return public_key.encrypt(data, oaep)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_unwrap_rfc5649_vector(rsa_private_key, vector):
    # The blob is built as OCI builds it, with the RFC's KEK as the temporary AES key, so the
    # published wrapped key must unwrap to the published key data.
    kek = bytes.fromhex(vector["kek"])
    blob = oaep_encrypt(rsa_private_key.public_key(), kek) + bytes.fromhex(vector["wrapped"])

    material = keywrap.unwrap(blob, rsa_private_key, keywrap.RSA_OAEP_AES_SHA256)

    assert material == bytes.fromhex(vector["key"])


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["name"])
def test_unwrap_rfc5649_vector_tampered(rsa_private_key, vector):
    kek = bytes.fromhex(vector["kek"])
    wrapped = bytearray.fromhex(vector["wrapped"])
    wrapped[-1] ^= 0x01
    blob = oaep_encrypt(rsa_private_key.public_key(), kek) + bytes(wrapped)

    with pytest.raises(keywrap.UnwrapError):
        keywrap.unwrap(blob, rsa_private_key)


@pytest.mark.parametrize("length", [16, 24, 32, 1217])
def test_wrap_unwrap_round_trip(rsa_private_key, length):
    material = bytes(range(256)) * (length // 256) + bytes(range(length % 256))

    blob = keywrap.wrap(material, rsa_private_key.public_key())

    # RFC 5649 output is the padded length plus one 8-byte block, after the RSA part.
    padded = -(-length // 8) * 8
    assert len(blob) == 256 + padded + 8
    assert keywrap.unwrap(blob, rsa_private_key) == material


def test_wrap_unwrap_rsa_oaep_sha256(rsa_private_key):
    material = bytes(32)

    blob = keywrap.wrap(material, rsa_private_key.public_key(), keywrap.RSA_OAEP_SHA256)

    assert len(blob) == 256
    assert keywrap.unwrap(blob, rsa_private_key, keywrap.RSA_OAEP_SHA256) == material


def test_unwrap_wrong_private_key_is_opaque(rsa_private_key, other_private_key):
    blob = keywrap.wrap(bytes(32), rsa_private_key.public_key())

    with pytest.raises(keywrap.UnwrapError) as caught:
        keywrap.unwrap(blob, other_private_key)

    assert str(caught.value) == str(keywrap.UnwrapError())
    assert caught.value.__cause__ is None


def test_unwrap_wrong_algorithm_rejected(rsa_private_key):
    blob = keywrap.wrap(bytes(32), rsa_private_key.public_key(), keywrap.RSA_OAEP_AES_SHA256)

    with pytest.raises(ValueError, match="RSA_OAEP_SHA256"):
        keywrap.unwrap(blob, rsa_private_key, keywrap.RSA_OAEP_SHA256)


@pytest.mark.parametrize(
    "blob, algorithm, message",
    [
        (b"\x00" * 100, keywrap.RSA_OAEP_AES_SHA256, "too short"),
        (b"\x00" * 300, "AES_GCM", "algorithm: invalid value"),
        ("not bytes", keywrap.RSA_OAEP_AES_SHA256, "blob: expected bytes"),
    ],
    ids=["short blob", "unknown algorithm", "text blob"],
)
def test_unwrap_bad_input(rsa_private_key, blob, algorithm, message):
    with pytest.raises(ValueError, match=message):
        keywrap.unwrap(blob, rsa_private_key, algorithm)


def test_unwrap_rejects_public_key(rsa_private_key):
    with pytest.raises(ValueError, match="private_key: expected an RSA private key"):
        keywrap.unwrap(b"\x00" * 300, rsa_private_key.public_key())


def test_wrap_rejects_ec_key():
    ec_key = ec.generate_private_key(ec.SECP256R1())

    with pytest.raises(ValueError, match="public_key: expected an RSA public key"):
        keywrap.wrap(bytes(32), ec_key.public_key())


def test_wrap_rejects_small_rsa_key():
    small_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    with pytest.raises(ValueError, match="1024 bits is too small"):
        keywrap.wrap(bytes(32), small_key.public_key())


def test_wrap_rsa_oaep_sha256_too_long(rsa_private_key):
    with pytest.raises(ValueError, match="use RSA_OAEP_AES_SHA256"):
        keywrap.wrap(bytes(1217), rsa_private_key.public_key(), keywrap.RSA_OAEP_SHA256)


def test_wrap_rejects_empty_material(rsa_private_key):
    with pytest.raises(ValueError, match="material"):
        keywrap.wrap(b"", rsa_private_key.public_key())


def test_key_check_value_definition():
    import hashlib
    import hmac

    material = bytes(range(32))
    expected = hmac.new(material, b"kms-key-backup key check value v1", hashlib.sha256).digest()[:16].hex()

    assert keywrap.key_check_value(material) == expected
    assert keywrap.key_check_value(material) != keywrap.key_check_value(bytes(32))


def test_material_fingerprint_rsa_matches_public_key(rsa_private_key):
    from cryptography.hazmat.primitives import serialization

    material = rsa_private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )

    fingerprint = keywrap.material_fingerprint(material, "RSA")

    assert fingerprint == keywrap.public_key_fingerprint(rsa_private_key.public_key())


def test_material_fingerprint_rsa_garbage_is_opaque():
    with pytest.raises(keywrap.UnwrapError):
        keywrap.material_fingerprint(b"\x01" * 40, "RSA")


def test_fingerprints_equal_ignores_case():
    assert keywrap.fingerprints_equal("ABCD", "abcd")
    assert not keywrap.fingerprints_equal("abcd", "abce")
