"""Clients for the CLI subcommands that work on one vault at a time (export, inspect, restore, doctor).

`build_clients` turns the authentication options into a `ClientFactory` and `Clients` gives the
three clients of one vault. Endpoint overrides for tests come from the environment variables
``KMS_BACKUP_KMS_ENDPOINT_TEMPLATE`` and ``KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE``.
"""

from __future__ import annotations

import os
from typing import Any

import oci

KMS_ENDPOINT_TEMPLATE_ENV = "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE"
TELEMETRY_ENDPOINT_TEMPLATE_ENV = "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE"

# KMS calls do not retry by default in the SDK, so every client of these subcommands retries
# throttling, 5xx and timeouts with the SDK's default strategy.
RETRY_STRATEGY = oci.retry.DEFAULT_RETRY_STRATEGY


class Clients:
    """KMS clients per region and per vault, built from one config and signer."""

    def __init__(self, config: dict[str, Any], signer: Any = None, kms_endpoint_template: str | None = None) -> None:
        self.config = dict(config)
        self.signer = signer
        self.kms_endpoint_template = kms_endpoint_template

    def _kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "retry_strategy": RETRY_STRATEGY,
            # A CLI run is short and its retries are bounded, so the process-wide circuit breaker
            # would only turn a transient error burst into a failure of the whole command.
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
        }
        if self.signer is not None:
            kwargs["signer"] = self.signer
        return kwargs

    def _config(self, region: str) -> dict[str, Any]:
        config = dict(self.config)
        config["region"] = region
        return config

    def vault_client(self, region: str) -> oci.key_management.KmsVaultClient:
        kwargs = self._kwargs()
        if self.kms_endpoint_template:
            kwargs["service_endpoint"] = self.kms_endpoint_template.format(region=region)
        return oci.key_management.KmsVaultClient(self._config(region), **kwargs)

    def management_client(self, vault: Any, region: str) -> oci.key_management.KmsManagementClient:
        return oci.key_management.KmsManagementClient(
            self._config(region), service_endpoint=vault.management_endpoint, **self._kwargs()
        )

    def crypto_client(self, vault: Any, region: str) -> oci.key_management.KmsCryptoClient:
        return oci.key_management.KmsCryptoClient(
            self._config(region), service_endpoint=vault.crypto_endpoint, **self._kwargs()
        )


def build_clients(config: dict[str, Any], signer: Any) -> Clients:
    """Return `Clients` for a config and signer, with the endpoint override of the environment."""
    return Clients(config, signer, os.environ.get(KMS_ENDPOINT_TEMPLATE_ENV) or None)
