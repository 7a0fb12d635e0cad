"""Tests of the export-only file envelope (kms_key_backup.exportfile)."""

import base64
import json
import os
import stat

import pytest

from kms_key_backup import exportfile
from kms_key_backup.errors import InvalidInputError

BLOB = base64.b64encode(b"\x01" * 296).decode("ascii")


def make_envelope(**changes):
    values = dict(
        key_id="ocid1.key.oc1.eu-frankfurt-1.aaaakey",
        key_version_id="ocid1.keyversion.oc1.eu-frankfurt-1.aaaaversion",
        vault_id="ocid1.vault.oc1.eu-frankfurt-1.aaaavault",
        compartment_id="ocid1.compartment.oc1..aaaacompartment",
        region="eu-frankfurt-1",
        display_name="payments",
        key_shape={"algorithm": "AES", "length": 32, "curve_id": None},
        wrapping_algorithm="RSA_OAEP_AES_SHA256",
        wrapping_public_key_sha256="ab" * 32,
        key_fingerprint={"kind": exportfile.AES_KEY_CHECK_VALUE, "value": "cd" * 16},
        time_exported=exportfile.utc_now(),
        encrypted_key=BLOB,
    )
    values.update(changes)
    return exportfile.ExportEnvelope(**values)


def test_write_creates_mode_0600(tmp_path):
    path = str(tmp_path / "export.json")
    old_umask = os.umask(0)
    try:
        exportfile.write_export_file(path, make_envelope())
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_write_read_round_trip(tmp_path):
    path = str(tmp_path / "export.json")
    envelope = make_envelope()

    exportfile.write_export_file(path, envelope)

    assert exportfile.read_export_file(path) == envelope


def test_write_never_overwrites(tmp_path):
    path = tmp_path / "export.json"
    path.write_text("keep me")

    with pytest.raises(InvalidInputError) as caught:
        exportfile.write_export_file(str(path), make_envelope(), "--output-file")

    assert caught.value.field == "--output-file"
    assert "already exists" in caught.value.fix
    assert path.read_text() == "keep me"


def test_repr_and_describe_hide_blob():
    envelope = make_envelope()

    assert BLOB not in repr(envelope)
    assert "encrypted_key" not in envelope.describe()
    assert envelope.describe()["key_fingerprint"]["value"] == "cd" * 16


def write_document(tmp_path, document):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    return str(path)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"key_id": "ocid1.vault.oc1.eu-frankfurt-1.x"}, "key_id"),
        ({"key_version_id": "ocid1.key.oc1.eu-frankfurt-1.x"}, "key_version_id"),
        ({"vault_id": "nonsense"}, "vault_id"),
        ({"wrapping_algorithm": "AES"}, "wrapping_algorithm"),
        ({"key_shape": {"algorithm": "ECDSA", "length": 32}}, "key_shape"),
        ({"key_fingerprint": {"kind": "rsa_public_key_sha256", "value": "ab" * 32}}, "key_fingerprint"),
        ({"encrypted_key": "not base64!"}, "encrypted_key"),
        ({"extra": 1}, "extra"),
        ({"format_version": 2}, "format_version"),
    ],
)
def test_read_rejects_bad_field(tmp_path, change, field):
    document = make_envelope().to_dict()
    document.update(change)

    with pytest.raises(InvalidInputError) as caught:
        exportfile.read_export_file(write_document(tmp_path, document))

    assert caught.value.field.endswith(field)


def test_read_bad_blob_error_hides_value(tmp_path):
    document = make_envelope().to_dict()
    document["encrypted_key"] = "AAAA*secret*"

    with pytest.raises(InvalidInputError) as caught:
        exportfile.read_export_file(write_document(tmp_path, document))

    assert "secret" not in str(caught.value)


def test_read_missing_field(tmp_path):
    document = make_envelope().to_dict()
    del document["region"]

    with pytest.raises(InvalidInputError) as caught:
        exportfile.read_export_file(write_document(tmp_path, document))

    assert caught.value.field.endswith("region")


def test_read_not_an_export_file(tmp_path):
    with pytest.raises(InvalidInputError, match="not an export file"):
        exportfile.read_export_file(write_document(tmp_path, {"hello": 1}))
