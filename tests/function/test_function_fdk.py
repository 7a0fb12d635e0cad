"""The function end to end: fdk on a unix socket, a resource principal, the emulator.

Every test starts ``fdk func.py handler`` as the Fn agent does and POSTs ``/call`` with
``Fn-Call-Id`` and ``Fn-Deadline``. The function signs its OCI calls as a resource principal
whose token and key are files, exactly as OCI Functions provides them.
"""

import base64
import json

import oci
import pytest

TARGET_REGION = "eu-stockholm-1"
SOFTWARE_AES_NAMES = ("payments", "orders", "ledger")
EVENT_PREFIX = "com.oraclecloud.keymanagementservice."


def key_event(operation, resource_id, compartment_id, **additional_details):
    return {
        "eventType": EVENT_PREFIX + operation,
        "cloudEventsVersion": "0.1",
        "eventTypeVersion": "2.0",
        "source": "KeyManagementService",
        "eventTime": "2026-12-04T10:00:00Z",
        "contentType": "application/json",
        "extensions": {"compartmentId": compartment_id},
        "eventID": "0f6e0c1e-0000-4000-8000-000000000001",
        "data": {"compartmentId": compartment_id, "resourceName": "payments",
                 "resourceId": resource_id, "additionalDetails": additional_details},
    }


def target_copies(management, vaults):
    """Return the target vault's keys that carry provenance tags, by source key OCID."""
    client = management(vaults.target_management_endpoint)
    keys = oci.pagination.list_call_get_all_results(
        client.list_keys, vaults.target_compartment_id).data
    copies = {}
    for summary in keys:
        source_key_id = (summary.freeform_tags or {}).get("kms_key_backup_source_key_id")
        if source_key_id:
            copies.setdefault(source_key_id, []).append(summary.id)
    return copies


def version_count(management, endpoint, key_id):
    client = management(endpoint)
    return len(oci.pagination.list_call_get_all_results(client.list_key_versions, key_id).data)


def rotate(management, vaults, key_id):
    """Create a new version of a source key through the API and wait until it is ENABLED."""
    client = management(vaults.source_management_endpoint)
    version = client.create_key_version(key_id).data
    oci.wait_until(client, client.get_key_version(key_id, version.id), "lifecycle_state",
                   "ENABLED", max_wait_seconds=30, max_interval_seconds=1)
    return version.id


def write_calls(admin):
    """Return the calls that changed a vault; posting metrics is a write to Monitoring only."""
    return [call for call in admin.calls()
            if call.get("write") and call.get("category") != "monitoring"]


def test_scheduled_sweep_copies_software_keys(start_function, admin, management, vaults):
    function = start_function()

    result = function.invoke({"trigger": "schedule"})
    report = result.json()

    assert result.status == 200
    assert report["trigger"] == "schedule"
    # HSM, ECDSA and DISABLED keys cannot be copied, so the sweep is partial by design.
    assert report["status"] == "partial"
    assert report["counts"]["versions_copied"] == 3 + 1 + 2
    copies = target_copies(management, vaults)
    assert sorted(copies) == sorted(vaults.keys[name] for name in SOFTWARE_AES_NAMES)
    assert all(len(ids) == 1 for ids in copies.values())
    unsupported = {key["source_key_id"] for key in report["unsupported"]}
    assert vaults.keys["hsm-key"] in unsupported
    assert vaults.keys["signing"] in unsupported


def test_empty_body_sweeps_configured_keys(start_function, management, vaults):
    function = start_function(KMS_BACKUP_KEY_NAMES="orders")

    report = function.invoke(b"").json()

    assert report["trigger"] == "sweep"
    assert report["status"] == "ok"
    assert sorted(target_copies(management, vaults)) == [vaults.keys["orders"]]


def test_second_sweep_has_nothing_to_do(start_function, admin, vaults):
    function = start_function(KMS_BACKUP_KEY_TAGS='{"backup": "true"}')
    first = function.invoke(b"").json()
    admin.clear_calls()

    second = function.invoke(b"").json()

    assert first["counts"]["versions_copied"] == 4
    assert second["status"] == "ok"
    assert second["counts"]["versions_copied"] == 0
    assert write_calls(admin) == []


def test_requests_signed_by_resource_principal(start_function, admin, function_id):
    function = start_function(KMS_BACKUP_KEY_NAMES="orders")

    function.invoke(b"")
    principals = {call.get("principal") for call in admin.calls()}

    assert principals == {function_id}


def test_warm_container_reuses_vault_reads(start_function, admin):
    function = start_function(KMS_BACKUP_KEY_NAMES="orders")
    function.invoke(b"")
    admin.clear_calls()

    function.invoke(b"")
    operations = [call["operation"] for call in admin.calls()]

    assert "GetVault" not in operations
    assert "GetWrappingKey" not in operations


@pytest.mark.parametrize("details", ["key_ocid", "version_with_key_detail",
                                     "version_only"])
def test_rotation_event_copies_only_that_key(start_function, admin, management, vaults,
                                             details):
    function = start_function()
    function.invoke(b"")
    key_id = vaults.keys["payments"]
    target_key_id = target_copies(management, vaults)[key_id][0]
    new_version_id = rotate(management, vaults, key_id)
    if details == "key_ocid":
        event = key_event("createkeyversion.end", key_id, vaults.compartment_id)
    elif details == "version_with_key_detail":
        event = key_event("createkeyversion.end", new_version_id, vaults.compartment_id,
                          keyId=key_id)
    else:
        event = key_event("createkeyversion.end", new_version_id, vaults.compartment_id)
    admin.clear_calls()

    result = function.invoke(event)
    report = result.json()
    calls = admin.calls()

    assert result.status == 200
    assert report["trigger"] == "event"
    assert report["counts"]["versions_copied"] == 1
    assert [key["source_key_id"] for key in report["keys"]] == [key_id]
    assert version_count(management, vaults.target_management_endpoint, target_key_id) == 4
    written = {call["key_id"] for call in calls
               if call.get("write") and call.get("category") != "monitoring"}
    assert written <= {target_key_id}
    touched = {call["key_id"] for call in calls if call.get("key_id")}
    if details == "version_only":
        # Without the key's OCID the function looks for the version among the configured keys.
        assert touched <= set(vaults.keys.values()) | {target_key_id}
    else:
        assert touched <= {key_id, target_key_id}
        # A warm container copies one new version with at most 8 Vault calls; posting the
        # run's metrics to Monitoring comes on top.
        vault_calls = [call["operation"] for call in calls if call["category"] != "monitoring"]
        assert len(vault_calls) <= 8, " ".join(vault_calls)


def test_event_for_unselected_key_is_ignored(start_function, admin, vaults):
    function = start_function(KMS_BACKUP_KEY_NAMES="payments,orders")
    event = key_event("createkeyversion.end", vaults.keys["ledger"], vaults.compartment_id)

    result = function.invoke(event)
    report = result.json()

    assert result.status == 200
    assert report["status"] == "ok"
    assert report["action"] == "none"
    assert "not in the configured selection" in report["reason"]
    assert write_calls(admin) == []


def test_event_for_unnamed_key_needs_no_call(start_function, admin, vaults):
    function = start_function(KMS_BACKUP_KEY_IDS=vaults.keys["payments"])
    event = key_event("createkeyversion.end", vaults.keys["ledger"], vaults.compartment_id)

    report = function.invoke(event).json()

    assert report["action"] == "none"
    assert admin.calls() == []


def test_event_for_key_of_other_vault_is_ignored(start_function, admin, seed, vaults):
    other = seed([{"display_name": "elsewhere", "algorithm": "AES", "length": 32}])
    function = start_function()
    event = key_event("createkeyversion.end", other.keys["elsewhere"], other.compartment_id)

    report = function.invoke(event).json()

    assert report["action"] == "none"
    assert write_calls(admin) == []


def test_begin_event_is_ignored_without_calls(start_function, admin, vaults):
    function = start_function()
    event = key_event("createkeyversion.begin", vaults.keys["payments"], vaults.compartment_id)

    report = function.invoke(event).json()

    assert report["action"] == "none"
    assert admin.calls() == []


def test_payload_naming_other_target_is_rejected(start_function, admin, vaults):
    function = start_function()
    payload = {"targets": [{"region": TARGET_REGION,
                            "vault_id": "ocid1.vault.oc1.eu-stockholm-1.someoneelse",
                            "compartment_id": vaults.target_compartment_id}]}

    result = function.invoke(payload)
    report = result.json()

    assert result.status == 502
    assert report["status"] == "invalid_input"
    assert report["error"]["field"] == "payload.targets[0].vault_id"
    assert "KMS_BACKUP_ALLOW_PAYLOAD_TARGETS" in report["error"]["fix"]
    assert admin.calls() == []


def test_payload_widening_selection_is_rejected(start_function, admin):
    function = start_function(KMS_BACKUP_KEY_NAMES="orders")

    report = function.invoke({"selection": {"display_names": ["payments"]}}).json()

    assert report["status"] == "invalid_input"
    assert report["error"]["field"] == "payload.selection.display_names[0]"
    assert admin.calls() == []


def test_payload_narrows_selection(start_function, management, vaults):
    function = start_function()

    report = function.invoke({"selection": {"display_names": ["ledger"]}}).json()

    assert report["trigger"] == "payload"
    assert report["status"] == "ok"
    assert sorted(target_copies(management, vaults)) == [vaults.keys["ledger"]]


def test_payload_dry_run_writes_nothing(start_function, admin):
    function = start_function()

    report = function.invoke({"options": {"dry_run": True}}).json()

    assert report["dry_run"] is True
    assert report["counts"]["versions_planned"] == 6
    assert write_calls(admin) == []


@pytest.mark.parametrize("body, field", [
    (b"{oops", "payload"),
    (b"[]", "payload"),
    (b'{"selection": {"key_ids": "not-a-list"}}', "payload.selection.key_ids"),
    (b'{"options": {"concurrency": 0}}', "payload.options.concurrency"),
    (b" " * (64 * 1024 + 1), "payload"),
    (json.dumps(key_event("createkeyversion.end", "ocid1.vault.oc1..x",
                          "ocid1.compartment.oc1..x")).encode(), "payload.data.resourceId"),
], ids=["bad_json", "array", "key_ids_type", "concurrency_zero", "oversized", "event_vault"])
def test_bad_payload_is_rejected_without_calls(start_function, admin, body, field):
    function = start_function()

    result = function.invoke(body)
    report = result.json()

    assert result.status == 502
    assert report["status"] == "invalid_input"
    assert report["error"]["field"] == field
    assert admin.calls() == []


def test_bad_configuration_names_variable(start_function, admin):
    function = start_function(KMS_BACKUP_TARGETS=None)

    result = function.invoke(b"")
    report = result.json()

    assert result.status == 502
    assert report["status"] == "invalid_input"
    assert report["error"]["field"] == "KMS_BACKUP_TARGETS"
    assert admin.calls() == []


def test_deadline_returns_partial_then_next_run_finishes(start_function, admin, management,
                                                        seed):
    many = seed([
        {"display_name": f"bulk-{index:02d}", "algorithm": "AES", "length": 32}
        for index in range(50)])
    function = start_function(
        KMS_BACKUP_SOURCE_VAULT_ID=many.source_vault_id,
        KMS_BACKUP_TARGETS=json.dumps([{"region": TARGET_REGION,
                                        "vault_id": many.target_vault_id,
                                        "compartment_id": many.target_compartment_id}]),
        # The margin must cover the keys in flight when the engine stops starting new ones:
        # about half a second per key on the emulator.
        KMS_BACKUP_DEADLINE_MARGIN_SECONDS="1.0",
        KMS_BACKUP_CONCURRENCY="2",
        KMS_BACKUP_REQUESTS_PER_SECOND="500")
    # A dry run warms the container as a previous invocation would: fdk imports func.py on
    # the first call, and the vaults and the target's wrapping key are read once and cached.
    warm_up = function.invoke({"options": {"dry_run": True}}, deadline_seconds=120).json()

    first = function.invoke(b"", deadline_seconds=2.0)
    first_report = first.json()
    second_report = function.invoke(b"", deadline_seconds=120).json()
    copies = target_copies(management, many)

    assert warm_up["counts"]["versions_planned"] == 50
    assert first.status == 200
    assert first_report["status"] == "partial"
    assert first_report["deadline_reached"] is True
    assert first.elapsed_seconds < 2.0
    assert first_report["counts"]["versions_copied"] < 50
    assert first_report["keys_left"]
    assert second_report["status"] == "ok"
    assert sorted(copies) == sorted(many.keys.values())
    assert all(len(ids) == 1 for ids in copies.values())
    # A key still in flight when the first answer left is finished by that run's thread or by the
    # second run, and is counted by neither report if the first run's thread finished it.
    in_flight = len(first_report.get("keys_in_flight", []))
    versions_copied = (first_report["counts"]["versions_copied"]
                       + second_report["counts"]["versions_copied"])
    assert 50 - in_flight <= versions_copied <= 50


def test_metrics_posted_to_monitoring(start_function, admin, vaults):
    function = start_function()

    report = function.invoke(b"").json()
    metrics = {item["name"]: item for item in admin.metrics()}

    assert metrics["versions_copied"]["namespace"] == "kms_key_backup"
    assert metrics["versions_copied"]["datapoints"][0]["value"] == \
        report["counts"]["versions_copied"]
    assert metrics["versions_copied"]["compartmentId"] == vaults.compartment_id
    assert metrics["versions_copied"]["dimensions"]["source_vault_id"] == vaults.source_vault_id
    assert metrics["keys_failed"]["datapoints"][0]["value"] == 0
    assert metrics["run_failed"]["datapoints"][0]["value"] == 0
    assert metrics["runs_succeeded"]["datapoints"][0]["value"] == 1
    assert "run_duration_seconds" in metrics


def test_metrics_failure_does_not_fail_run(start_function, admin):
    admin.add_fault("PostMetricData", action="error", status=500, code="InternalServerError",
                    message="injected", times=100)
    function = start_function(KMS_BACKUP_KEY_NAMES="orders")

    result = function.invoke(b"")
    report = result.json()

    assert result.status == 200
    assert report["status"] == "ok"
    assert admin.metrics() == []
    assert "posting metrics failed" in function.logs()


def test_metrics_disabled_by_empty_namespace(start_function, admin):
    function = start_function(KMS_BACKUP_KEY_NAMES="orders", KMS_BACKUP_METRICS_NAMESPACE="")

    function.invoke(b"")

    assert admin.metrics() == []
    assert "PostMetricData" not in [call["operation"] for call in admin.calls()]


def test_logs_are_json_without_secrets(start_function, emulator, vaults, oci_config):
    function = start_function()
    function.invoke(b"")
    function.invoke({"selection": {"display_names": ["orders"]}})
    material = exported_material(oci_config, emulator, vaults, vaults.keys["payments"])
    logs = function.logs()
    stdout_lines = [line for line in function.stdout_path.read_text().splitlines() if line]

    entries = [json.loads(line) for line in stdout_lines]
    assert entries
    assert {entry["call_id"] for entry in entries if "call_id" in entry}
    assert any(entry.get("run_id") for entry in entries)
    assert all(secret not in logs for secret in material)
    assert "encryptedKey" not in logs
    assert "encrypted_key" not in logs
    assert not [entry for entry in entries if "payload" in entry]
    assert " - DEBUG - " not in function.stderr_path.read_text()


def exported_material(oci_config, emulator, vaults, key_id):
    """Export a source key under a test RSA key and return its material in the encodings a log
    line could carry (base64, hex)."""
    from cryptography.hazmat.primitives import hashes, keywrap, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    wrapping = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = wrapping.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    vault_client = oci.key_management.KmsVaultClient(
        oci_config, service_endpoint=emulator.kms_endpoint_template.format(region="eu-frankfurt-1"))
    vault = vault_client.get_vault(vaults.source_vault_id).data
    crypto = oci.key_management.KmsCryptoClient(oci_config,
                                                service_endpoint=vault.crypto_endpoint)
    exported = crypto.export_key(oci.key_management.models.ExportKeyDetails(
        key_id=key_id, algorithm="RSA_OAEP_AES_SHA256", public_key=public_pem)).data
    blob = base64.b64decode(exported.encrypted_key)
    size = wrapping.key_size // 8
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    temporary_key = wrapping.decrypt(blob[:size], oaep)
    material = keywrap.aes_key_unwrap_with_padding(temporary_key, blob[size:])
    return [base64.b64encode(material).decode(), material.hex(), exported.encrypted_key[:64]]
