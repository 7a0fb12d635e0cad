"""Copy one key the way the original ``kms_key_backup.py`` script did: the benchmark's baseline.

Usage: ``python -m benchmarks.baseline SPEC.json KEY_ID``. The driver starts one process per
key, one after another, as an operator looping over the original script would. Each process:

1. reads both vaults with ``get_vault`` to find their endpoints,
2. reads the target vault's RSA wrapping key with ``get_wrapping_key``,
3. reads the source key with ``get_key`` for its shape and current version,
4. exports the current version only with ``export_key`` under the wrapping key,
5. creates the target key from that blob with ``import_key``.

It neither waits for the new key to become ENABLED nor tags it, so it makes the fewest calls a
copy can make and the baseline is as fast as such a script can be. Clients use the SDK's
defaults (no retry strategy for KMS) except for the circuit breaker, which is off so that one
benchmark process cannot affect another. It prints its wall time as JSON, and never the blob.
"""

import json
import sys
import time

started = time.perf_counter()

import oci  # noqa: E402

from benchmarks.engine_run import peak_rss_bytes  # noqa: E402


def main(spec_path: str, key_id: str) -> int:
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    config = spec["oci_config"]
    source_region, target_region = spec["source_region"], spec["target_region"]
    no_breaker = {"circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy()}

    def vault_client(region):
        return oci.key_management.KmsVaultClient(
            {**config, "region": region}, service_endpoint=spec["kms_endpoint_template"].format(region=region),
            **no_breaker)

    source_vault = vault_client(source_region).get_vault(spec["source_vault_id"]).data
    target_vault = vault_client(target_region).get_vault(spec["target_vault_id"]).data
    source_management = oci.key_management.KmsManagementClient(
        {**config, "region": source_region}, service_endpoint=source_vault.management_endpoint, **no_breaker)
    source_crypto = oci.key_management.KmsCryptoClient(
        {**config, "region": source_region}, service_endpoint=source_vault.crypto_endpoint, **no_breaker)
    target_management = oci.key_management.KmsManagementClient(
        {**config, "region": target_region}, service_endpoint=target_vault.management_endpoint, **no_breaker)

    wrapping_key = target_management.get_wrapping_key().data.public_key
    key = source_management.get_key(key_id).data
    exported = source_crypto.export_key(oci.key_management.models.ExportKeyDetails(
        key_id=key.id, key_version_id=key.current_key_version, algorithm="RSA_OAEP_AES_SHA256",
        public_key=wrapping_key)).data
    models = oci.key_management.models
    created = target_management.import_key(models.ImportKeyDetails(
        compartment_id=spec["target_compartment_id"], display_name=key.display_name,
        key_shape=models.KeyShape(algorithm=key.key_shape.algorithm, length=key.key_shape.length),
        protection_mode="SOFTWARE",
        wrapped_import_key=models.WrappedImportKey(key_material=exported.encrypted_key,
                                                   wrapping_algorithm="RSA_OAEP_AES_SHA256"))).data
    del exported

    print(json.dumps({"source_key_id": key.id, "target_key_id": created.id,
                      "process_seconds": time.perf_counter() - started, "peak_rss_bytes": peak_rss_bytes()}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python -m benchmarks.baseline SPEC.json KEY_ID", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
