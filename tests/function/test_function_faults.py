"""The function under faults, through the real fdk and a resource principal, on the emulator.

Every scenario asserts that the function responds with its own JSON report (a bare fdk 502 would
mean an exception escaped, a CircuitBreakerError among them) and that the target contains no
duplicate key or version. Each scenario states its expected outcome in its docstring.
"""

import json
import threading

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from test_function_fdk import SOFTWARE_AES_NAMES, target_copies, version_count

pytestmark = pytest.mark.oci_verified

# The source versions of each software AES key in MIXED_KEYS (tests/function/conftest.py).
SOURCE_VERSIONS = {"payments": 3, "orders": 1, "ledger": 2}


def report_of(call) -> dict:
    """Return the function's JSON report; fail if the body is not one (an escaped exception)."""
    report = call.json()
    assert "run_id" in report, call.body[:200]
    assert "CircuitBreaker" not in json.dumps(report)
    return report


def assert_no_duplicates(management, vaults) -> None:
    copies = target_copies(management, vaults)
    assert all(len(ids) == 1 for ids in copies.values()), copies
    for name, source_key_id in vaults.keys.items():
        for copy_id in copies.get(source_key_id, []):
            assert version_count(management, vaults.target_management_endpoint, copy_id) \
                <= SOURCE_VERSIONS.get(name, 1)


def assert_converged(management, vaults) -> None:
    copies = target_copies(management, vaults)
    assert sorted(copies) == sorted(vaults.keys[name] for name in SOFTWARE_AES_NAMES)
    for name in SOFTWARE_AES_NAMES:
        (copy_id,) = copies[vaults.keys[name]]
        assert version_count(management, vaults.target_management_endpoint, copy_id) == SOURCE_VERSIONS[name]


def test_throttling_storm_converges(start_function, admin, management, vaults):
    """Expected: one 429 on the first call of each operation is retried; the report is ok."""
    for operation in ("GetVault", "ListKeys", "ExportKey", "ImportKey", "ImportKeyVersion", "UpdateKey"):
        admin.add_fault(operation, nth=1, status=429, code="TooManyRequests",
                        message="Too many requests for the tenancy")
    function = start_function()

    call = function.invoke(b"", deadline_seconds=120)
    report = report_of(call)

    assert call.status == 200
    assert report["status"] == "partial"  # the HSM, ECDSA and DISABLED keys are unsupported
    assert report["counts"]["keys_failed"] == 0
    assert report["counts"]["versions_copied"] == 6
    assert len([c for c in admin.calls() if c["status"] == 429]) == 6
    assert_converged(management, vaults)


def test_server_error_burst_converges(start_function, admin, management, vaults):
    """Expected: 500, 502 and 503 on imports and exports are retried; every version is copied."""
    admin.add_fault("ExportKey", nth=1, status=500, code="InternalServerError")
    admin.add_fault("ImportKey", nth=1, status=503, code="ServiceUnavailable")
    admin.add_fault("ImportKeyVersion", nth=1, status=502, code="BadGateway")
    function = start_function()

    call = function.invoke(b"", deadline_seconds=120)
    report = report_of(call)

    assert call.status == 200
    assert report["counts"]["keys_failed"] == 0
    assert report["counts"]["versions_copied"] == 6
    assert_converged(management, vaults)


def _rotate_session(tmp_path, admin, world, function_id, function_environment) -> None:
    """Write a fresh resource-principal token, bound to a new session key, over the files."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()).decode("ascii")
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    token = admin.resource_principal_token(world.main.tenancy_id, world.main.compartment_id, function_id,
                                           public_pem)
    with open(function_environment["OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM"], "w") as key_file:
        key_file.write(private_pem)
    with open(function_environment["OCI_RESOURCE_PRINCIPAL_RPST"], "w") as token_file:
        token_file.write(token)


def test_unauthenticated_once_refreshes_token(start_function, admin, management, vaults, tmp_path, world,
                                              function_id, function_environment):
    """Expected: after the token files are rotated, one 401 makes the SDK's resource-principal
    signer re-read them and retry the call once; the run converges."""
    function = start_function()
    report_of(function.invoke(b"", deadline_seconds=120))
    _rotate_session(tmp_path, admin, world, function_id, function_environment)
    admin.clear_calls()
    # The container keeps vault records, so the second run's first call is ListKeys.
    admin.add_fault("ListKeys", nth=1, status=401, code="NotAuthenticated", message="The session token has expired")

    call = function.invoke(b"", deadline_seconds=120)
    report = report_of(call)

    assert call.status == 200
    assert report["counts"]["keys_failed"] == 0
    list_keys_calls = [c for c in admin.calls() if c["operation"] == "ListKeys"]
    assert [c["status"] for c in list_keys_calls][:2] == [401, 200]
    assert_converged(management, vaults)


def test_unauthenticated_twice_fails_clearly(start_function, admin, management, vaults):
    """Expected: a 401 on the call and on its one retry after the token refresh fails the run in
    preflight with NotAuthenticated in a JSON report, and nothing is written."""
    admin.add_fault("GetVault", nth=1, times=2, status=401, code="NotAuthenticated",
                    message="The session token has expired")
    function = start_function()

    call = function.invoke(b"", deadline_seconds=120)
    report = report_of(call)

    assert call.status == 502
    assert report["status"] == "failed"
    assert "NotAuthenticated" in json.dumps(report["error"])
    assert [c for c in admin.calls() if c["write"] and c["operation"] != "PostMetricData"] == []
    assert target_copies(management, vaults) == {}


def test_overlapping_invocations_make_no_duplicate(start_function, admin, management, vaults):
    """Expected: two containers running the same job at once both respond with a report.

    A key they contend for fails only with InvalidatedRetryToken, or not at all when one run finds
    the other's copy still CREATING and waits for it. No key or version is duplicated, and the
    next run converges."""
    admin.update_settings(latency_ms=5)
    functions = [start_function(), start_function()]
    calls = [None, None]

    def invoke(index):
        calls[index] = functions[index].invoke(b"", deadline_seconds=120)

    threads = [threading.Thread(target=invoke, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=150)

    reports = [report_of(call) for call in calls]
    # Both containers export the same version, and each export is wrapped afresh, so the slower
    # import reuses the retry token with another body. OCI then returns 409 InvalidatedRetryToken,
    # so that key fails in that report instead of being duplicated.
    for report in reports:
        errors = [k["error"] for k in report["keys"] if k.get("error")] + \
            [t["error"] for k in report["keys"] for t in k["targets"] if t.get("error")]
        assert report["status"] in ("ok", "partial", "failed")
        assert all(error.get("code") == "InvalidatedRetryToken" for error in errors), errors
    assert_no_duplicates(management, vaults)
    admin.update_settings(latency_ms=0)
    assert report_of(functions[0].invoke(b"", deadline_seconds=120))["counts"]["keys_failed"] == 0
    assert_converged(management, vaults)
