"""Encrypt/decrypt and sign/verify, the calls that prove a copied key is usable."""

import base64
import hashlib

import oci
import pytest

models = oci.key_management.models
PLAINTEXT = base64.b64encode(b"disaster recovery").decode()


def test_aes_encrypt_decrypt_round_trip(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    crypto = kms.crypto(vault)
    sealed = crypto.encrypt(models.EncryptDataDetails(key_id=key.id, plaintext=PLAINTEXT,
                                                      associated_data={"purpose": "test"})).data
    assert sealed.key_version_id == key.current_key_version
    opened = crypto.decrypt(models.DecryptDataDetails(key_id=key.id, ciphertext=sealed.ciphertext,
                                                      associated_data={"purpose": "test"})).data
    assert opened.plaintext == PLAINTEXT


def test_decrypt_with_old_version_after_rotation(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    crypto = kms.crypto(vault)
    sealed = crypto.encrypt(models.EncryptDataDetails(key_id=key.id, plaintext=PLAINTEXT)).data
    kms.rotate(vault, key.id)
    opened = crypto.decrypt(models.DecryptDataDetails(key_id=key.id, ciphertext=sealed.ciphertext)).data
    assert opened.plaintext == PLAINTEXT
    assert opened.key_version_id == key.current_key_version


def test_decrypt_with_wrong_associated_data_fails(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id)
    crypto = kms.crypto(vault)
    sealed = crypto.encrypt(models.EncryptDataDetails(key_id=key.id, plaintext=PLAINTEXT,
                                                      associated_data={"purpose": "a"})).data
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        crypto.decrypt(models.DecryptDataDetails(key_id=key.id, ciphertext=sealed.ciphertext,
                                                 associated_data={"purpose": "b"}))
    assert failure.value.status == 400


def test_ciphertext_of_other_key_is_rejected(kms, world, vault):
    first = kms.create_key(vault, world.main.compartment_id, name="first")
    second = kms.create_key(vault, world.main.compartment_id, name="second")
    crypto = kms.crypto(vault)
    sealed = crypto.encrypt(models.EncryptDataDetails(key_id=first.id, plaintext=PLAINTEXT)).data
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        crypto.decrypt(models.DecryptDataDetails(key_id=second.id, ciphertext=sealed.ciphertext))
    assert failure.value.status == 400


@pytest.mark.parametrize("algorithm, length, curve_id, signing_algorithm", [
    ("RSA", 256, None, "SHA_256_RSA_PKCS_PSS"),
    ("RSA", 256, None, "SHA_384_RSA_PKCS1_V1_5"),
    ("ECDSA", 32, "NIST_P256", "ECDSA_SHA_256"),
])
def test_sign_and_verify(kms, world, vault, algorithm, length, curve_id, signing_algorithm):
    key = kms.create_key(vault, world.main.compartment_id, algorithm, length, curve_id=curve_id)
    crypto = kms.crypto(vault)
    message = base64.b64encode(b"message").decode()
    signed = crypto.sign(models.SignDataDetails(key_id=key.id, message=message,
                                                signing_algorithm=signing_algorithm)).data
    verified = crypto.verify(models.VerifyDataDetails(key_id=key.id, key_version_id=signed.key_version_id,
                                                      message=message, signature=signed.signature,
                                                      signing_algorithm=signing_algorithm)).data
    assert verified.is_signature_valid is True
    tampered = crypto.verify(models.VerifyDataDetails(key_id=key.id, key_version_id=signed.key_version_id,
                                                      message=base64.b64encode(b"other").decode(),
                                                      signature=signed.signature,
                                                      signing_algorithm=signing_algorithm)).data
    assert tampered.is_signature_valid is False


def test_sign_digest_message(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    digest = base64.b64encode(hashlib.sha256(b"message").digest()).decode()
    crypto = kms.crypto(vault)
    signed = crypto.sign(models.SignDataDetails(key_id=key.id, message=digest, message_type="DIGEST",
                                                signing_algorithm="SHA_256_RSA_PKCS1_V1_5")).data
    verified = crypto.verify(models.VerifyDataDetails(key_id=key.id, key_version_id=signed.key_version_id,
                                                      message=base64.b64encode(b"message").decode(),
                                                      signature=signed.signature,
                                                      signing_algorithm="SHA_256_RSA_PKCS1_V1_5")).data
    assert verified.is_signature_valid is True


def test_sign_with_wrong_algorithm_family_fails(kms, world, vault):
    key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.crypto(vault).sign(models.SignDataDetails(key_id=key.id, message=PLAINTEXT,
                                                      signing_algorithm="ECDSA_SHA_256"))
    assert failure.value.status == 400
