"""Tests of the PEM checks of wrapping key files (kms_key_backup.pemfile)."""

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from kms_key_backup import pemfile
from kms_key_backup.errors import InvalidInputError


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key, password=None):
    encryption = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_public_key_plain(tmp_path, rsa_key):
    key = pemfile.load_public_key(write(tmp_path, "pub.pem", public_pem(rsa_key)))

    assert key.public_numbers() == rsa_key.public_key().public_numbers()


def test_public_key_crlf_without_final_newline(tmp_path, rsa_key):
    data = public_pem(rsa_key).replace(b"\n", b"\r\n").rstrip()

    key = pemfile.load_public_key(write(tmp_path, "pub.pem", data))

    assert key.key_size == 2048


def test_private_key_crlf_without_final_newline(tmp_path, rsa_key):
    data = private_pem(rsa_key).replace(b"\n", b"\r\n").rstrip()

    key = pemfile.load_private_key(write(tmp_path, "key.pem", data))

    assert key.private_numbers() == rsa_key.private_numbers()


def test_public_key_rejects_private_key(tmp_path, rsa_key):
    path = write(tmp_path, "key.pem", private_pem(rsa_key))

    with pytest.raises(InvalidInputError) as caught:
        pemfile.load_public_key(path, "--wrapping_pubkey_file")

    assert caught.value.field == "--wrapping_pubkey_file"
    assert caught.value.value == path
    assert "-pubout" in caught.value.fix


def test_public_key_rejects_ec_key(tmp_path):
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = write(tmp_path, "ec.pem", public_pem(ec_key))

    with pytest.raises(InvalidInputError) as caught:
        pemfile.load_public_key(path, "--wrapping-public-key")

    assert caught.value.field == "--wrapping-public-key"
    assert "EC key" in caught.value.fix


def test_private_key_rejects_ec_key(tmp_path):
    ec_key = ec.generate_private_key(ec.SECP256R1())

    with pytest.raises(InvalidInputError, match="EC key"):
        pemfile.load_private_key(write(tmp_path, "ec.pem", private_pem(ec_key)))


def test_public_key_rejects_small_rsa(tmp_path):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    with pytest.raises(InvalidInputError) as caught:
        pemfile.load_public_key(write(tmp_path, "small.pem", public_pem(small)))

    assert "1024 bits" in caught.value.fix
    assert "openssl genpkey" in caught.value.fix


def test_private_key_rejects_small_rsa(tmp_path):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)

    with pytest.raises(InvalidInputError, match="1024 bits"):
        pemfile.load_private_key(write(tmp_path, "small.pem", private_pem(small)))


def test_public_key_rejects_unsupported_size(tmp_path):
    odd = rsa.generate_private_key(public_exponent=65537, key_size=2560)

    with pytest.raises(InvalidInputError, match="2048, 3072, 4096"):
        pemfile.load_public_key(write(tmp_path, "odd.pem", public_pem(odd)))


def test_private_key_rejects_public_key(tmp_path, rsa_key):
    with pytest.raises(InvalidInputError, match="does not contain a private key"):
        pemfile.load_private_key(write(tmp_path, "pub.pem", public_pem(rsa_key)))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"hello", "not PEM"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a readable PEM public key"),
    ],
    ids=["not pem", "broken base64"],
)
def test_public_key_rejects_garbage(tmp_path, data, message):
    with pytest.raises(InvalidInputError, match=message):
        pemfile.load_public_key(write(tmp_path, "bad.pem", data))


def test_public_key_missing_file(tmp_path):
    path = str(tmp_path / "absent.pem")

    with pytest.raises(InvalidInputError) as caught:
        pemfile.load_public_key(path)

    assert caught.value.value == path
    assert "does not exist" in caught.value.fix


def test_private_key_encrypted_needs_passphrase(tmp_path, rsa_key, monkeypatch):
    monkeypatch.delenv(pemfile.PASSPHRASE_ENV, raising=False)
    path = write(tmp_path, "enc.pem", private_pem(rsa_key, b"secret-passphrase"))

    with pytest.raises(InvalidInputError, match=pemfile.PASSPHRASE_ENV):
        pemfile.load_private_key(path)

    monkeypatch.setenv(pemfile.PASSPHRASE_ENV, "secret-passphrase")
    assert pemfile.load_private_key(path).key_size == 2048
