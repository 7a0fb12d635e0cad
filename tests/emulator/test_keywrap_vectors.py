"""The RFC 5649 layer of the export format against the RFC's published examples."""

import json
import pathlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from kms_emulator import crypto
from emu_helpers import unwrap_export

VECTORS = json.loads((pathlib.Path(__file__).parents[1] / "vectors" / "rfc5649.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda vector: f"{len(vector['key']) // 2}-byte-key")
def test_rfc5649_vectors(vector):
    wrapped = aes_key_wrap_with_padding(bytes.fromhex(vector["kek"]), bytes.fromhex(vector["key"]))
    assert wrapped.hex() == vector["wrapped"]


def test_emulator_wrap_unwraps_independently():
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    material = bytes(range(32))
    blob = crypto.wrap_material(private_key.public_key(), "RSA_OAEP_AES_SHA256", material)
    assert len(blob) == 256 + 40
    encoded = crypto.b64encode(blob)
    assert unwrap_export(private_key, "RSA_OAEP_AES_SHA256", encoded) == material
    assert crypto.unwrap_material(private_key, "RSA_OAEP_AES_SHA256", blob) == material
    pem = private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert crypto.load_caller_public_key(pem.decode(), "publicKey").key_size == 2048
