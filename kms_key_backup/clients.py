"""One factory for the OCI clients of a run, with retries, rate limiting and caches.

``ClientFactory`` builds ``KmsVaultClient`` and ``MonitoringClient`` per region and
``KmsManagementClient`` and ``KmsCryptoClient`` per vault endpoint, and keeps them for the life
of the process (in the function: of the container), so a warm function builds no client and
re-reads no vault. It is thread-safe.

Every KMS call goes through ``ThrottledRetryStrategy``: an ``oci.retry`` strategy that retries
429, 5xx (except 501), 409 IncorrectState or LockConflict, timeouts and connection errors, and
that takes a token from a per-region, per-category token bucket before each attempt, retries
included. The categories follow the OCI throttling limits: management reads, management writes,
crypto calls and vault provisioning (control plane) calls.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable

import oci
from oci.circuit_breaker import NoCircuitBreakerStrategy
from oci.key_management import KmsCryptoClient, KmsManagementClient, KmsVaultClient
from oci.monitoring import MonitoringClient

from kms_key_backup.errors import PreflightError, ServiceFailure

LOG = logging.getLogger(__name__)

MANAGEMENT_READ = "management_read"
MANAGEMENT_WRITE = "management_write"
CRYPTO = "crypto"
PROVISIONING = "provisioning"
TELEMETRY = "telemetry"
CATEGORIES = (MANAGEMENT_READ, MANAGEMENT_WRITE, CRYPTO, PROVISIONING, TELEMETRY)

KMS_ENDPOINT_TEMPLATE_ENV = "KMS_BACKUP_KMS_ENDPOINT_TEMPLATE"
TELEMETRY_ENDPOINT_TEMPLATE_ENV = "KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE"

DEFAULT_REQUESTS_PER_SECOND = 10.0
DEFAULT_CACHE_TTL_SECONDS = 300.0


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens per second, bursts up to ``capacity``.

    ``acquire`` reserves a token even when the bucket is empty (the balance goes negative) and
    sleeps until the reservation is due, so waiting callers are served in arrival order.
    """

    def __init__(self, rate: float, capacity: float | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._rate = rate
        self._capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        with self._lock:
            self._refill()
            self._rate = rate
            self._capacity = max(1.0, rate)
            self._tokens = min(self._tokens, self._capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; return the seconds slept."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            wait = 0.0 if self._tokens >= 0 else -self._tokens / self._rate
        if wait > 0:
            self._sleep(wait)
        return wait


def build_retry_strategy(max_attempts: int = 8, total_elapsed_time_seconds: int = 300,
                         base_sleep_seconds: float = 1.0, max_sleep_seconds: float = 30.0):
    """Build the ``oci.retry`` strategy used for every KMS call.

    KMS clients do not retry unless given a strategy. This one retries throttling (429), server
    errors (5xx except 501), 409 IncorrectState and LockConflict (a key still CREATING or
    UPDATING), timeouts and connection errors, with exponential backoff and jitter.
    """
    return oci.retry.RetryStrategyBuilder(
        max_attempts=max_attempts,
        total_elapsed_time_seconds=total_elapsed_time_seconds,
        service_error_retry_config=oci.retry.retry_checkers.RETRYABLE_STATUSES_AND_CODES,
        service_error_retry_on_any_5xx=True,
        retry_base_sleep_time_seconds=base_sleep_seconds,
        retry_max_wait_between_calls_seconds=max_sleep_seconds,
        backoff_type=oci.retry.BACKOFF_FULL_JITTER_EQUAL_ON_THROTTLE_VALUE,
    ).get_retry_strategy()


class CallCounter:
    """Thread-safe counts of OCI call attempts by (region, category) and by operation."""

    def __init__(self):
        self._lock = threading.Lock()
        self.by_category: Counter = Counter()
        self.by_operation: Counter = Counter()

    def add(self, region: str, category: str, operation: str) -> None:
        with self._lock:
            self.by_category[(region, category)] += 1
            self.by_operation[operation] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"by_operation": dict(self.by_operation),
                    "by_category": {f"{region}/{category}": count
                                    for (region, category), count in sorted(self.by_category.items())}}


class ThrottledRetryStrategy:
    """Wrap an ``oci.retry`` strategy so that every attempt first takes a rate-limit token.

    The SDK hands ``make_retrying_call`` the client's ``call_api`` with ``method`` and
    ``operation_name`` keyword arguments, so the category of each call is known here. Anything
    else is delegated to the wrapped strategy.
    """

    def __init__(self, inner, factory: "ClientFactory", region: str, categorize: Callable[[str], str]):
        self._inner = inner
        self._factory = factory
        self._region = region
        self._categorize = categorize

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add_circuit_breaker_callback(self, callback) -> None:
        self._inner.add_circuit_breaker_callback(callback)

    def make_retrying_call(self, func_ref, *func_args, **func_kwargs):
        method = str(func_kwargs.get("method", "GET")).upper()
        operation = func_kwargs.get("operation_name") or "unknown"
        category = self._categorize(method)
        bucket = self._factory.bucket(self._region, category)
        counter = self._factory.calls

        def throttled_call(*args, **kwargs):
            bucket.acquire()
            counter.add(self._region, category, operation)
            started = time.monotonic()
            response = func_ref(*args, **kwargs)
            LOG.debug("OCI call %s succeeded", operation, extra={
                "operation": operation, "region": self._region, "category": category,
                "opc_request_id": response.headers.get("opc-request-id"),
                "duration_ms": round((time.monotonic() - started) * 1000, 1)})
            return response

        return self._inner.make_retrying_call(throttled_call, *func_args, **func_kwargs)


def _management_category(method: str) -> str:
    return MANAGEMENT_READ if method in ("GET", "HEAD") else MANAGEMENT_WRITE


@dataclass
class VaultRecord:
    """The fields of a vault that a run needs, as ``get_vault`` returned them."""

    id: str
    region: str
    compartment_id: str
    display_name: str
    lifecycle_state: str
    management_endpoint: str
    crypto_endpoint: str
    vault_type: str


class _TtlCache:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float]):
        self._ttl = ttl_seconds
        self._clock = clock
        self._items: dict = {}
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None or item[0] < self._clock():
                return None
            return item[1]

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = (self._clock() + self._ttl, value)

    def discard(self, key) -> None:
        with self._lock:
            self._items.pop(key, None)


class ClientFactory:
    """Build, cache and rate-limit the OCI clients of a process.

    ``config`` is an oci config dict (``oci.config.from_file`` or ``{}`` with a signer), and its
    ``region`` is replaced per client. ``kms_endpoint_template`` and
    ``telemetry_endpoint_template`` (URLs with ``{region}``) replace the regional KMS vault and
    Monitoring ingestion endpoints, for tests and the demo only. Production leaves them None and
    takes vault endpoints from ``get_vault``.
    """

    def __init__(self, config: dict, signer=None, kms_endpoint_template: str | None = None,
                 telemetry_endpoint_template: str | None = None, *,
                 requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND,
                 cache_ttl_seconds: float = DEFAULT_CACHE_TTL_SECONDS,
                 retry_strategy=None, clock: Callable[[], float] = time.monotonic):
        self._config = dict(config)
        self._signer = signer
        self._kms_endpoint_template = kms_endpoint_template
        self._telemetry_endpoint_template = telemetry_endpoint_template
        self._requests_per_second = requests_per_second
        self._retry_strategy = retry_strategy or build_retry_strategy()
        self._lock = threading.RLock()
        self._clients: dict = {}
        self._buckets: dict = {}
        self._vaults = _TtlCache(cache_ttl_seconds, clock)
        self._wrapping_keys = _TtlCache(cache_ttl_seconds, clock)
        self.calls = CallCounter()

    @classmethod
    def from_environment(cls, config: dict, signer=None, environ: dict | None = None, **kwargs) -> "ClientFactory":
        """Build a factory whose endpoint templates come from the environment.

        ``KMS_BACKUP_KMS_ENDPOINT_TEMPLATE`` and ``KMS_BACKUP_TELEMETRY_ENDPOINT_TEMPLATE`` are for
        tests and the demo only; production leaves them unset.
        """
        environ = os.environ if environ is None else environ
        return cls(config, signer,
                   kms_endpoint_template=environ.get(KMS_ENDPOINT_TEMPLATE_ENV) or None,
                   telemetry_endpoint_template=environ.get(TELEMETRY_ENDPOINT_TEMPLATE_ENV) or None, **kwargs)

    # --- rate limiting ---------------------------------------------------------------------------

    def bucket(self, region: str, category: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get((region, category))
            if bucket is None:
                bucket = TokenBucket(self._requests_per_second)
                self._buckets[(region, category)] = bucket
            return bucket

    def set_requests_per_second(self, requests_per_second: float) -> None:
        """Change the rate limit of every bucket, present and future."""
        with self._lock:
            self._requests_per_second = requests_per_second
            for bucket in self._buckets.values():
                bucket.set_rate(requests_per_second)

    # --- clients ---------------------------------------------------------------------------------

    def _client_kwargs(self, region: str, categorize: Callable[[str], str]) -> dict:
        kwargs = {
            "retry_strategy": ThrottledRetryStrategy(self._retry_strategy, self, region, categorize),
            # The SDK's default circuit breaker is shared by every client of the process and
            # opens after 10 failed calls (429, 5xx, 409), whatever their cause. A run copying
            # hundreds of keys meets that many retried 429s or IncorrectStates while staying
            # healthy, and an open breaker would then fail every call with a
            # CircuitBreakerError. The retry strategy already bounds attempts and time, and
            # the token bucket keeps the call rate under the service limits, so no breaker is used.
            "circuit_breaker_strategy": NoCircuitBreakerStrategy(),
        }
        if self._signer is not None:
            kwargs["signer"] = self._signer
        return kwargs

    def _cached_client(self, cache_key, build: Callable[[], Any]):
        with self._lock:
            client = self._clients.get(cache_key)
            if client is None:
                client = build()
                self._clients[cache_key] = client
            return client

    def _config_for(self, region: str) -> dict:
        return {**self._config, "region": region}

    def vault_client(self, region: str) -> KmsVaultClient:
        """Return the KMS vault (control plane) client of a region."""
        def build():
            kwargs = self._client_kwargs(region, lambda method: PROVISIONING)
            if self._kms_endpoint_template:
                kwargs["service_endpoint"] = self._kms_endpoint_template.format(region=region)
            return KmsVaultClient(self._config_for(region), **kwargs)
        return self._cached_client(("vault", region), build)

    def management_client(self, vault: VaultRecord) -> KmsManagementClient:
        """Return the key management client of a vault, at its ``management_endpoint``."""
        def build():
            kwargs = self._client_kwargs(vault.region, _management_category)
            return KmsManagementClient(self._config_for(vault.region),
                                       service_endpoint=vault.management_endpoint, **kwargs)
        return self._cached_client(("management", vault.management_endpoint), build)

    def crypto_client(self, vault: VaultRecord) -> KmsCryptoClient:
        """Return the crypto client of a vault, at its ``crypto_endpoint``."""
        def build():
            kwargs = self._client_kwargs(vault.region, lambda method: CRYPTO)
            return KmsCryptoClient(self._config_for(vault.region), service_endpoint=vault.crypto_endpoint, **kwargs)
        return self._cached_client(("crypto", vault.crypto_endpoint), build)

    def monitoring_client(self, region: str) -> MonitoringClient:
        """Return the Monitoring client of a region, pointed at its telemetry ingestion endpoint."""
        def build():
            kwargs = self._client_kwargs(region, lambda method: TELEMETRY)
            if self._telemetry_endpoint_template:
                kwargs["service_endpoint"] = self._telemetry_endpoint_template.format(region=region)
            else:
                # PostMetricData is served by the ingestion endpoint, not the default one.
                kwargs["service_endpoint"] = f"https://telemetry-ingestion.{region}.oraclecloud.com"
            return MonitoringClient(self._config_for(region), **kwargs)
        return self._cached_client(("monitoring", region), build)

    # --- cached reads ----------------------------------------------------------------------------

    def get_vault(self, region: str, vault_id: str, *, refresh: bool = False) -> VaultRecord:
        """Return the vault record, from the cache when it is younger than the TTL.

        Raises ``PreflightError`` when the vault is not found and ``ServiceFailure`` for other
        failed calls.
        """
        key = (region, vault_id)
        if not refresh:
            cached = self._vaults.get(key)
            if cached is not None:
                return cached
        try:
            vault = self.vault_client(region).get_vault(vault_id).data
        except oci.exceptions.ServiceError as exc:
            if exc.status == 404:
                raise PreflightError(
                    f"vault {vault_id} was not found in {region}, or this principal may not read it: "
                    f"check the vault OCID and region, and grant 'read vaults' (opc-request-id {exc.request_id})"
                ) from exc
            raise service_failure("get_vault", vault_id, exc) from exc
        record = VaultRecord(id=vault.id, region=region, compartment_id=vault.compartment_id,
                             display_name=vault.display_name, lifecycle_state=vault.lifecycle_state,
                             management_endpoint=vault.management_endpoint, crypto_endpoint=vault.crypto_endpoint,
                             vault_type=vault.vault_type)
        if record.lifecycle_state == "ACTIVE":
            self._vaults.put(key, record)
        return record

    def get_wrapping_public_key(self, vault: VaultRecord) -> str:
        """Return the PEM public wrapping key of a vault, from the cache when it is younger than the TTL.

        A vault's wrapping key cannot be rotated, so caching it costs no correctness.
        """
        cached = self._wrapping_keys.get(vault.id)
        if cached is not None:
            return cached
        try:
            wrapping_key = self.management_client(vault).get_wrapping_key().data
        except oci.exceptions.ServiceError as exc:
            raise PreflightError(
                f"the wrapping key of vault {vault.id} in {vault.region} is unreadable: {exc.status} "
                f"{exc.code} {exc.message}; grant this principal 'read vaults' and 'manage keys' in the "
                f"target (opc-request-id {exc.request_id})") from exc
        if wrapping_key.lifecycle_state != "ENABLED" or not wrapping_key.public_key:
            raise PreflightError(f"the wrapping key of vault {vault.id} is {wrapping_key.lifecycle_state}, "
                                 "not ENABLED; wait until the vault is ready and run again")
        self._wrapping_keys.put(vault.id, wrapping_key.public_key)
        return wrapping_key.public_key

    def forget_vault(self, region: str, vault_id: str) -> None:
        """Drop a vault and its wrapping key from the caches, so the next read calls OCI."""
        self._vaults.discard((region, vault_id))
        self._wrapping_keys.discard(vault_id)


def list_all(call, *args, **kwargs) -> list:
    """Return every item of a paged list call, following ``opc-next-page``, each page called once.

    ``oci.pagination.list_call_get_all_results`` is not used because it wraps every page call in
    ``oci.retry.DEFAULT_RETRY_STRATEGY`` (8 attempts, backoff up to 30 s, 600 s in all, in oci
    2.189.0) on top of the client's own strategy. The attempts then multiply, and a list call that
    keeps failing waits for minutes whatever ``max_attempts`` and deadline the run has. Here the
    client's strategy alone retries each page.
    """
    items: list = []
    response = call(*args, **kwargs)
    while True:
        items.extend(response.data if isinstance(response.data, list) else response.data.items)
        if not response.has_next_page:
            return items
        response = call(*args, **{**kwargs, "page": response.next_page})


def service_failure(operation: str, resource_id: str | None, exc: oci.exceptions.ServiceError) -> ServiceFailure:
    """Turn a ServiceError into a ServiceFailure that keeps only fields safe to report."""
    return ServiceFailure(operation, resource_id, exc.status, exc.code, str(exc.message), exc.request_id)
