"""The URL layout of the emulator and the OCI operation behind each route.

| what | URL prefix |
|---|---|
| KMS vault control plane of a region | `/kms/{region}` |
| a vault's management endpoint | `/vaults/{vault-suffix}/management` |
| a vault's crypto endpoint | `/vaults/{vault-suffix}/crypto` |
| Monitoring telemetry ingestion of a region | `/telemetry/{region}` |

The SDK appends its API version and the resource path (for example `/20180608/keys/{keyId}`).
"""

import re
from dataclasses import dataclass

KMS = "/20180608"


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    operation: str  # OCI's operation name, as in the SDK's `operation_name` and audit logs
    handler: str  # Backend method
    category: str  # management_read | management_write | crypto | provisioning | monitoring
    write: bool


_TABLE = [
    # KmsVaultClient, under /kms/{region}
    ("POST", "vault", r"/vaults", "CreateVault", "create_vault", "provisioning", True),
    ("GET", "vault", r"/vaults", "ListVaults", "list_vaults", "provisioning", False),
    ("GET", "vault", r"/vaults/(?P<vaultId>[^/]+)", "GetVault", "get_vault", "provisioning", False),
    ("GET", "vault", r"/vaults/(?P<vaultId>[^/]+)/usage", "GetVaultUsage", "get_vault_usage", "provisioning", False),
    ("POST", "vault", r"/vaults/(?P<vaultId>[^/]+)/actions/scheduleDeletion", "ScheduleVaultDeletion",
     "schedule_vault_deletion", "provisioning", True),
    ("POST", "vault", r"/vaults/(?P<vaultId>[^/]+)/actions/cancelDeletion", "CancelVaultDeletion",
     "cancel_vault_deletion", "provisioning", True),
    # KmsManagementClient, under /vaults/{suffix}/management
    ("POST", "management", r"/keys", "CreateKey", "create_key", "management_write", True),
    ("GET", "management", r"/keys", "ListKeys", "list_keys", "management_read", False),
    ("POST", "management", r"/keys/import", "ImportKey", "import_key", "management_write", True),
    ("GET", "management", r"/keys/(?P<keyId>[^/]+)", "GetKey", "get_key", "management_read", False),
    ("PUT", "management", r"/keys/(?P<keyId>[^/]+)", "UpdateKey", "update_key", "management_write", True),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/actions/enable", "EnableKey", "enable_key", "management_write", True),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/actions/disable", "DisableKey", "disable_key", "management_write", True),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/actions/scheduleDeletion", "ScheduleKeyDeletion",
     "schedule_key_deletion", "management_write", True),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/actions/cancelDeletion", "CancelKeyDeletion",
     "cancel_key_deletion", "management_write", True),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/keyVersions", "CreateKeyVersion", "create_key_version",
     "management_write", True),
    ("GET", "management", r"/keys/(?P<keyId>[^/]+)/keyVersions", "ListKeyVersions", "list_key_versions",
     "management_read", False),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/keyVersions/import", "ImportKeyVersion", "import_key_version",
     "management_write", True),
    ("GET", "management", r"/keys/(?P<keyId>[^/]+)/keyVersions/(?P<keyVersionId>[^/]+)", "GetKeyVersion",
     "get_key_version", "management_read", False),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/keyVersions/(?P<keyVersionId>[^/]+)/actions/scheduleDeletion",
     "ScheduleKeyVersionDeletion", "schedule_key_version_deletion", "management_write", True),
    ("POST", "management", r"/keys/(?P<keyId>[^/]+)/keyVersions/(?P<keyVersionId>[^/]+)/actions/cancelDeletion",
     "CancelKeyVersionDeletion", "cancel_key_version_deletion", "management_write", True),
    ("GET", "management", r"/wrappingKeys", "GetWrappingKey", "get_wrapping_key", "management_read", False),
    # KmsCryptoClient, under /vaults/{suffix}/crypto
    ("POST", "crypto", r"/exportKey", "ExportKey", "export_key", "crypto", False),
    ("POST", "crypto", r"/encrypt", "Encrypt", "encrypt", "crypto", False),
    ("POST", "crypto", r"/decrypt", "Decrypt", "decrypt", "crypto", False),
    ("POST", "crypto", r"/sign", "Sign", "sign", "crypto", False),
    ("POST", "crypto", r"/verify", "Verify", "verify", "crypto", False),
]

ROUTES: dict[str, list[Route]] = {"vault": [], "management": [], "crypto": [], "telemetry": []}
for _method, _endpoint, _path, _operation, _handler, _category, _write in _TABLE:
    ROUTES[_endpoint].append(
        Route(_method, re.compile(f"^{KMS}{_path}$"), _operation, _handler, _category, _write)
    )
ROUTES["telemetry"].append(
    Route("POST", re.compile(r"^/20180401/metrics$"), "PostMetricData", "post_metric_data", "monitoring", True)
)

OPERATIONS = sorted({route.operation for routes in ROUTES.values() for route in routes})

_PREFIX = re.compile(
    r"^/(?:kms/(?P<region>[a-z0-9-]+)|telemetry/(?P<telemetry_region>[a-z0-9-]+)"
    r"|vaults/(?P<suffix>[a-z0-9]+)/(?P<endpoint>management|crypto))(?P<rest>/.*)?$"
)


@dataclass
class Match:
    route: Route
    path_params: dict
    region: str | None
    vault_suffix: str | None


def match(method: str, path: str) -> Match | None | str:
    """Return the route for a request path (without query), "method" if only the method is wrong, or None."""
    path = re.sub(r"/{2,}", "/", path)
    prefix = _PREFIX.match(path)
    if prefix is None:
        return None
    if prefix.group("region"):
        endpoint, region, suffix = "vault", prefix.group("region"), None
    elif prefix.group("telemetry_region"):
        endpoint, region, suffix = "telemetry", prefix.group("telemetry_region"), None
    else:
        endpoint, region, suffix = prefix.group("endpoint"), None, prefix.group("suffix")
    rest = prefix.group("rest") or "/"
    wrong_method = False
    for route in ROUTES[endpoint]:
        found = route.pattern.match(rest)
        if found:
            if route.method == method:
                return Match(route, found.groupdict(), region, suffix)
            wrong_method = True
    return "method" if wrong_method else None
