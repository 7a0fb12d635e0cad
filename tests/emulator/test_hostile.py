"""A hostile client: malformed bodies and framing, forged signatures, odd inputs and races.

Each request here is sent raw (signed by `oci.signer.Signer` or by hand), because the SDK's own
models refuse most of these inputs before they reach the wire.
"""

import base64
import concurrent.futures
import email.utils
import hashlib
import json
import socket
import time

import jwt
import oci
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from oci._vendor import requests

from kms_emulator.server import MAX_API_BODY_BYTES

models = oci.key_management.models


@pytest.fixture
def signer(kms):
    return oci.signer.Signer(kms.config["tenancy"], kms.config["user"], kms.config["fingerprint"],
                             kms.config["key_file"])


@pytest.fixture
def key(kms, world, vault):
    return kms.create_key(vault, world.main.compartment_id)


def _post(signer, url: str, body, content_type: str = "application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(url, data=data, auth=signer, timeout=10, headers={"content-type": content_type})


def _raw_exchange(port: int, request: bytes) -> tuple[int, dict]:
    """Send raw bytes and return the status and the JSON body of the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
        head, _, rest = answer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = connection.recv(4096)
            if not chunk:
                break
            rest += chunk
    return int(lines[0].split()[1]), json.loads(rest) if rest else {}


def _hand_signed_headers(api_key_pem: str, key_id: str, method: str, path: str, host: str, body: bytes,
                         signed: list[str], date: str | None = None, body_hash: str | None = None) -> dict:
    """Sign a request the way OCI's draft-cavage scheme does, with full control over every input."""
    headers = {
        "date": date or email.utils.formatdate(usegmt=True),
        "host": host,
        "content-type": "application/json",
        "content-length": str(len(body)),
        "x-content-sha256": body_hash or base64.b64encode(hashlib.sha256(body).digest()).decode(),
    }
    lines = []
    for name in signed:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        else:
            lines.append(f"{name}: {headers[name]}")
    private_key = serialization.load_pem_private_key(api_key_pem.encode(), password=None)
    signature = private_key.sign("\n".join(lines).encode(), padding.PKCS1v15(), hashes.SHA256())
    headers["authorization"] = (
        f'Signature version="1",headers="{" ".join(signed)}",keyId="{key_id}",algorithm="rsa-sha256",'
        f'signature="{base64.b64encode(signature).decode()}"'
    )
    return headers


POST_HEADERS = ["date", "(request-target)", "host", "content-length", "content-type", "x-content-sha256"]


# ---- bodies ----


def test_unknown_signing_algorithm_is_invalid(signer, vault, key):
    answer = _post(signer, vault.crypto_endpoint + "/20180608/sign",
                   {"keyId": key.id, "signingAlgorithm": "SHA_999_RSA_PKCS_PSS", "message": "aGk="})
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameter"
    assert "SHA_999_RSA_PKCS_PSS" in answer.json()["message"]


def test_unknown_message_type_is_invalid(kms, world, vault, signer):
    rsa_key = kms.create_key(vault, world.main.compartment_id, "RSA", 256)
    answer = _post(signer, vault.crypto_endpoint + "/20180608/sign",
                   {"keyId": rsa_key.id, "signingAlgorithm": "SHA_256_RSA_PKCS_PSS", "message": "aGk=",
                    "messageType": "HASHED"})
    assert answer.status_code == 400
    assert "messageType" in answer.json()["message"]


@pytest.mark.parametrize("associated_data", ["text", ["a"], {"a": 1}])
def test_associated_data_must_map_strings(signer, vault, key, associated_data):
    answer = _post(signer, vault.crypto_endpoint + "/20180608/encrypt",
                   {"keyId": key.id, "plaintext": "aGk=", "associatedData": associated_data})
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameter"


@pytest.mark.parametrize("body", ["[" * 100_000, "{\"a\": ", "\xff\xfe", "[1, 2]", "null"], ids=[
    "deeply-nested", "truncated", "not-utf8", "array", "null"])
def test_malformed_body_cannot_be_parsed(signer, world, vault, body):
    data = body.encode("latin-1")
    answer = _post(signer, vault.management_endpoint + "/20180608/keys", data)
    assert answer.status_code == 400
    assert answer.json()["code"] == "CannotParseRequest"


def test_malformed_body_without_signature_is_unauthenticated(vault):
    answer = requests.post(vault.management_endpoint + "/20180608/keys", data=b"{not json",
                           headers={"content-type": "application/json"}, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["code"] == "NotAuthenticated"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_body_must_be_declared_json(signer, vault, key, content_type):
    answer = _post(signer, vault.crypto_endpoint + "/20180608/encrypt", {"keyId": key.id, "plaintext": "aGk="},
                   content_type=content_type)
    assert answer.status_code == 400
    assert answer.json()["code"] == "CannotParseRequest"
    assert "content-type" in answer.json()["message"]


def test_json_content_type_with_charset_is_accepted(signer, vault, key):
    answer = _post(signer, vault.crypto_endpoint + "/20180608/encrypt", {"keyId": key.id, "plaintext": "aGk="},
                   content_type="application/json; charset=utf-8")
    assert answer.status_code == 200


def test_non_object_datapoint_is_a_failed_metric(kms, world, signer):
    url = kms.emulator.telemetry_endpoint_template.format(region="eu-frankfurt-1") + "/20180401/metrics"
    answer = _post(signer, url, {"metricData": [{"namespace": "kms_key_backup", "name": "copied",
                                                 "compartmentId": world.main.compartment_id, "datapoints": [5]}]})
    assert answer.status_code == 200
    assert answer.json()["failedMetricsCount"] == 1
    assert kms.admin.metrics() == []


@pytest.mark.parametrize("path, body", [
    ("resource-principal-token", b"[]"), ("faults", b"\"text\""), ("seed", b"[1]"),
])
def test_admin_rejects_non_object_body(emulator, path, body):
    answer = requests.post(f"{emulator.admin_url}{path}", data=body, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["code"] == "InvalidParameter"


def test_admin_rejects_bad_stall_seconds(kms):
    from kms_emulator.admin import AdminError

    with pytest.raises(AdminError) as failure:
        kms.admin.add_fault("GetKey", action="stall", stall_seconds="long")
    assert failure.value.status == 400
    assert "stall_seconds" in failure.value.message


# ---- framing ----


@pytest.mark.parametrize("content_length", ["abc", "-1", "1e3"])
def test_bad_content_length_is_rejected(emulator, vault, content_length):
    suffix = vault.management_endpoint.rsplit("/", 2)[-2]
    request = (f"POST /vaults/{suffix}/management/20180608/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Length: {content_length}\r\n\r\n").encode()
    status, body = _raw_exchange(emulator.port, request)
    assert status == 400
    assert body["code"] == "CannotParseRequest"


def test_oversized_body_is_rejected_unread(emulator, vault):
    suffix = vault.management_endpoint.rsplit("/", 2)[-2]
    request = (f"POST /vaults/{suffix}/management/20180608/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Content-Type: application/json\r\nContent-Length: {MAX_API_BODY_BYTES + 1}\r\n\r\n").encode()
    status, body = _raw_exchange(emulator.port, request)
    assert status == 413
    assert body["code"] == "PayloadTooLarge"


def test_chunked_body_is_rejected(emulator, vault):
    suffix = vault.management_endpoint.rsplit("/", 2)[-2]
    request = (f"POST /vaults/{suffix}/management/20180608/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n").encode()
    status, body = _raw_exchange(emulator.port, request)
    assert status == 411
    assert "content-length" in body["message"]


@pytest.mark.parametrize("method", ["FOO", "OPTIONS", "TRACE"])
def test_unknown_method_answers_json(emulator, method):
    status, body = _raw_exchange(emulator.port, f"{method} /kms/eu-frankfurt-1/20180608/vaults HTTP/1.1\r\n"
                                                "Host: 127.0.0.1\r\n\r\n".encode())
    assert status == 501
    assert body["code"] == "MethodNotImplemented"


def test_malformed_request_line_answers_json(emulator):
    status, body = _raw_exchange(emulator.port, b"GET /a b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == 400
    assert body["code"] == "CannotParseRequest"


# ---- signatures ----


def _vault_get(world, emulator, vault, api_key, **overrides):
    path = f"/kms/eu-frankfurt-1/20180608/vaults/{vault.id}"
    key_id = f"{world.main.tenancy_id}/{world.main.user_id}/{api_key.fingerprint}"
    signed = overrides.pop("signed", ["date", "(request-target)", "host"])
    headers = _hand_signed_headers(api_key.private_pem, key_id, "GET", path, f"127.0.0.1:{emulator.port}", b"",
                                   signed, **overrides)
    for name in ("content-type", "content-length", "x-content-sha256"):
        headers.pop(name)
    return requests.get(emulator.url + path, headers=headers, timeout=10)


def test_hand_signed_get_is_accepted(world, emulator, vault, api_key):
    answer = _vault_get(world, emulator, vault, api_key)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("age_seconds", [-3600, 301, 86400])
def test_stale_or_future_date_is_rejected(world, emulator, vault, api_key, age_seconds):
    date = email.utils.formatdate(time.time() - age_seconds, usegmt=True)
    answer = _vault_get(world, emulator, vault, api_key, date=date)
    assert answer.status_code == 401
    assert "Date" in answer.json()["message"]


def test_unparsable_date_is_rejected(world, emulator, vault, api_key):
    answer = _vault_get(world, emulator, vault, api_key, date="yesterday at noon")
    assert answer.status_code == 401


def test_signature_without_request_target_is_rejected(world, emulator, vault, api_key):
    answer = _vault_get(world, emulator, vault, api_key, signed=["date", "host"])
    assert answer.status_code == 401
    assert "(request-target)" in answer.json()["message"]


def _post_create_key(world, emulator, vault, api_key, body: bytes, signed, body_hash=None):
    suffix = vault.management_endpoint.rsplit("/", 2)[-2]
    path = f"/vaults/{suffix}/management/20180608/keys"
    key_id = f"{world.main.tenancy_id}/{world.main.user_id}/{api_key.fingerprint}"
    headers = _hand_signed_headers(api_key.private_pem, key_id, "POST", path, f"127.0.0.1:{emulator.port}", body,
                                   signed, body_hash=body_hash)
    return requests.post(emulator.url + path, data=body, headers=headers, timeout=10)


def _create_key_body(world) -> bytes:
    return json.dumps({"compartmentId": world.main.compartment_id, "displayName": "raw",
                       "keyShape": {"algorithm": "AES", "length": 32}, "protectionMode": "SOFTWARE"}).encode()


def test_hand_signed_post_is_accepted(kms, world, emulator, vault, api_key):
    answer = _post_create_key(world, emulator, vault, api_key, _create_key_body(world), POST_HEADERS)
    assert answer.status_code == 200, answer.text


def test_post_signature_must_cover_body_hash(kms, world, emulator, vault, api_key):
    signed = [name for name in POST_HEADERS if name != "x-content-sha256"]
    answer = _post_create_key(world, emulator, vault, api_key, _create_key_body(world), signed)
    assert answer.status_code == 401
    assert "x-content-sha256" in answer.json()["message"]
    assert kms.management(vault).list_keys(world.main.compartment_id).data == []


def test_body_hash_mismatch_is_rejected(kms, world, emulator, vault, api_key):
    other_hash = base64.b64encode(hashlib.sha256(b"another body").digest()).decode()
    answer = _post_create_key(world, emulator, vault, api_key, _create_key_body(world), POST_HEADERS,
                              body_hash=other_hash)
    assert answer.status_code == 401
    assert "x-content-sha256" in answer.json()["message"]
    assert kms.management(vault).list_keys(world.main.compartment_id).data == []


def test_token_forged_with_other_issuer_key_is_rejected(world, emulator, vault):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    numbers = forger.public_key().public_numbers()

    def b64url(value: int) -> str:
        return base64.urlsafe_b64encode(value.to_bytes((value.bit_length() + 7) // 8, "big")).rstrip(b"=").decode()

    now = int(time.time())
    token = jwt.encode({"iss": "authService.oracle.com", "aud": "oci", "sub": "ocid1.fnfunc.oc1..forged", "iat": now,
                        "exp": now + 600, "res_tenant": world.main.tenancy_id, "res_compartment": world.main.compartment_id,
                        "jwk": {"kty": "RSA", "n": b64url(numbers.n), "e": b64url(numbers.e)}}, forger, algorithm="RS256")
    forger_pem = forger.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()).decode()
    path = f"/kms/eu-frankfurt-1/20180608/vaults/{vault.id}"
    headers = _hand_signed_headers(forger_pem, f"ST${token}", "GET", path, f"127.0.0.1:{emulator.port}", b"",
                                   ["date", "(request-target)", "host"])
    answer = requests.get(emulator.url + path, headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.json()["code"] == "NotAuthenticated"


# ---- OCI rules ----


def test_retry_token_is_bound_to_its_resource(kms, world, vault):
    client = kms.management(vault)
    first = kms.create_key(vault, world.main.compartment_id, name="first")
    second = kms.create_key(vault, world.main.compartment_id, name="second")
    version = client.create_key_version(first.id, opc_retry_token="rotate-once").data
    assert version.key_id == first.id
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.create_key_version(second.id, opc_retry_token="rotate-once")
    assert failure.value.status == 409
    assert failure.value.code == "InvalidatedRetryToken"
    assert len(client.list_key_versions(second.id).data) == 1


def test_retry_token_replays_same_request(kms, world, vault, key):
    client = kms.management(vault)
    first = client.create_key_version(key.id, opc_retry_token="rotate-key").data
    again = client.create_key_version(key.id, opc_retry_token="rotate-key").data
    assert again.id == first.id
    assert len(client.list_key_versions(key.id).data) == 2


def test_writes_answer_with_etag(kms, world, vault, key):
    client = kms.management(vault)
    updated = client.update_key(key.id, models.UpdateKeyDetails(display_name="renamed"))
    assert updated.headers.get("etag")
    assert updated.headers["etag"] == client.get_key(key.id).headers["etag"]
    created = client.create_key_version(key.id)
    assert created.headers.get("etag")


def test_stale_etag_on_version_deletion_is_rejected(kms, world, vault, key):
    old_version = key.current_key_version
    kms.rotate(vault, key.id)
    error = None
    try:
        kms.management(vault).schedule_key_version_deletion(key.id, old_version, models.ScheduleKeyVersionDeletionDetails(),
                                                            if_match="stale")
    except oci.exceptions.ServiceError as exc:
        error = exc
    assert error is not None
    assert error.status == 412
    assert error.code == "NoEtagMatch"
    assert kms.management(vault).get_key_version(key.id, old_version).data.lifecycle_state == "ENABLED"


def test_stale_etag_on_vault_deletion_is_rejected(kms, vault):
    client = kms.vault_client()
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        client.schedule_vault_deletion(vault.id, models.ScheduleVaultDeletionDetails(), if_match="stale")
    assert failure.value.status == 412
    assert client.get_vault(vault.id).data.lifecycle_state == "ACTIVE"


def test_crypto_on_vault_pending_deletion_is_incorrect_state(emulator, kms, world, vault, key):
    kms.vault_client().schedule_vault_deletion(vault.id, models.ScheduleVaultDeletionDetails())
    kms.wait_state(kms.vault_client(), lambda: kms.vault_client().get_vault(vault.id), "PENDING_DELETION")
    details = models.EncryptDataDetails(key_id=key.id, plaintext=base64.b64encode(b"secret").decode())
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.crypto(vault).encrypt(details)
    assert failure.value.status == 409
    assert failure.value.code == "IncorrectState"
    assert kms.management(vault).get_key(key.id).data.id == key.id


@pytest.mark.parametrize("token", ["offset:-1", "offset:abc", "page:2"])
def test_forged_page_token_is_invalid(kms, world, vault, key, token):
    page = base64.urlsafe_b64encode(token.encode()).decode()
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.management(vault).list_keys(world.main.compartment_id, page=page)
    assert failure.value.status == 400
    assert failure.value.code == "InvalidParameter"


@pytest.mark.parametrize("limit", [0, -1, 1001])
def test_limit_out_of_range_is_invalid(kms, world, vault, limit):
    with pytest.raises(oci.exceptions.ServiceError) as failure:
        kms.management(vault).list_keys(world.main.compartment_id, limit=limit)
    assert failure.value.status == 400
    assert "limit" in failure.value.message


# ---- concurrency ----


def test_concurrent_creates_are_all_kept(kms, world, vault):
    shape = models.KeyShape(algorithm="AES", length=32)

    def create(index: int) -> str:
        details = models.CreateKeyDetails(compartment_id=world.main.compartment_id, display_name=f"parallel-{index}",
                                          key_shape=shape, protection_mode="SOFTWARE")
        return kms.management(vault).create_key(details).data.id

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(24)))
    assert len(set(created)) == 24
    client = kms.management(vault)
    listed = oci.pagination.list_call_get_all_results(client.list_keys, world.main.compartment_id, limit=5).data
    assert sorted(item.id for item in listed) == sorted(created)
    times = [item.time_created for item in listed]
    assert len(set(times)) == 24
