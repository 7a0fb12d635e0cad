"""OCI Functions entry point of kms-key-backup: copy Vault software keys to another region.

fdk calls ``handler`` once per invocation. Everything else lives in ``kms_key_backup.function``:
this file only hands fdk's context and body over and wraps the result in an fdk response.

Invocation body: empty (sweep the configured keys), ``{"trigger": "schedule"}`` (a Resource
Scheduler sweep), ``{"trigger": "canary"}`` with an optional ``"probe": true`` (the doctor canary,
docs/live-verification.md), a JSON job fragment that narrows the configured job, or an OCI Events
CloudEvent for a Vault key. The response is the JSON run report; its ``status`` is ``ok``,
``partial``, ``failed`` or ``invalid_input``. HTTP status 200 carries ``ok`` and ``partial``,
502 carries ``failed`` and ``invalid_input`` (fdk passes only 200, 502 and 504 through).

Configuration variables (docs/configuration.md has the full reference):

- ``KMS_BACKUP_SOURCE_REGION`` (required): region of the source vault.
- ``KMS_BACKUP_SOURCE_VAULT_ID`` (required): OCID of the source vault.
- ``KMS_BACKUP_SOURCE_COMPARTMENT_IDS``: comma-separated compartments to search for keys.
- ``KMS_BACKUP_TARGETS`` (required): JSON array of target vaults.
- ``KMS_BACKUP_KEY_IDS``, ``KMS_BACKUP_KEY_NAMES``, ``KMS_BACKUP_KEY_TAGS`` (JSON object),
  ``KMS_BACKUP_ALL_SOFTWARE_KEYS``: which keys to copy.
- ``KMS_BACKUP_EXCLUDE_KEY_IDS``, ``KMS_BACKUP_EXCLUDE_KEY_NAMES``: keys never to copy.
- ``KMS_BACKUP_VERSIONS``: ``all`` or ``current``.
- ``KMS_BACKUP_WRAPPING_ALGORITHM``: ``RSA_OAEP_AES_SHA256`` or ``RSA_OAEP_SHA256``.
- ``KMS_BACKUP_DEEP_VERIFY``: compare key material digests after each copy.
- ``KMS_BACKUP_CONCURRENCY``: keys copied at once.
- ``KMS_BACKUP_ALLOW_PAYLOAD_TARGETS``, ``KMS_BACKUP_ALLOW_PAYLOAD_WIDEN``: payload authority.
- ``KMS_BACKUP_ALLOW_CANARY``: whether the canary payload may run (default false).
- ``KMS_BACKUP_METRICS_NAMESPACE``, ``KMS_BACKUP_METRICS_COMPARTMENT_ID``: OCI Monitoring.
- ``KMS_BACKUP_DEADLINE_MARGIN_SECONDS``: stop starting work this long before the deadline.
- ``KMS_BACKUP_LOG_LEVEL``, ``KMS_BACKUP_LOG_PAYLOAD``: logging.
- ``KMS_BACKUP_KMS_ENDPOINT_TEMPLATE``, ``KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE``: tests and
  the local demo only; production leaves them unset.

OCI Functions sets ``OCI_RESOURCE_PRINCIPAL_VERSION``, ``OCI_RESOURCE_PRINCIPAL_RPST``,
``OCI_RESOURCE_PRINCIPAL_PRIVATE_PEM`` and ``OCI_RESOURCE_PRINCIPAL_REGION``; the function signs
every request with the resource principal they describe.
"""

import io
import json
import os
import sys

from fdk import response

# fdk loads this file by path, so its directory (/function in the image) is not necessarily on
# sys.path; the kms_key_backup package sits beside it.
_FUNCTION_DIRECTORY = os.path.dirname(os.path.abspath(__file__))
if _FUNCTION_DIRECTORY not in sys.path:
    sys.path.insert(0, _FUNCTION_DIRECTORY)

from kms_key_backup.function.runtime import handle_invocation  # noqa: E402


def handler(ctx, data: io.BytesIO = None):
    body = data.getvalue() if data is not None else b""
    result = handle_invocation(ctx, body)
    return response.Response(
        ctx,
        response_data=json.dumps(result.document, indent=2),
        headers={"Content-Type": "application/json"},
        status_code=result.status_code,
    )
