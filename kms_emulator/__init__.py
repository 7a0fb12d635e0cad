"""A local emulator of OCI Vault (KMS) and Monitoring ingestion that the unmodified `oci` SDK talks to.

    from kms_emulator import EmulatorServer

    with EmulatorServer(seed={"tenancies": [...]}) as srv:
        client = oci.key_management.KmsVaultClient(config, service_endpoint=srv.kms_endpoint_template.format(region=...))

See docs/emulator.md for the URL layout, the seed format, the admin API and the coverage table.
"""

from .admin import AdminClient
from .server import EmulatorServer

__all__ = ["AdminClient", "EmulatorServer"]
