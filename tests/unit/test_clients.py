"""ClientFactory pieces that need no server: token buckets, call categories, caches."""

from __future__ import annotations

import oci
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from kms_key_backup.clients import (CRYPTO, MANAGEMENT_READ, MANAGEMENT_WRITE, PROVISIONING, ClientFactory,
                                    TokenBucket, _management_category, build_retry_strategy)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_bucket_allows_a_burst_of_its_rate():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)

    waits = [bucket.acquire() for _ in range(10)]

    assert waits == [0.0] * 10


def test_bucket_spaces_calls_beyond_the_burst():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        bucket.acquire()

    waits = [bucket.acquire() for _ in range(5)]

    assert waits == pytest.approx([0.1] * 5)


def test_bucket_refills_over_time():
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock, sleep=clock.sleep)
    bucket.acquire()
    bucket.acquire()
    clock.now += 1.0

    assert bucket.acquire() == 0.0


def test_bucket_rejects_non_positive_rate():
    with pytest.raises(ValueError):
        TokenBucket(0)


def test_set_rate_changes_spacing():
    clock = FakeClock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    bucket.set_rate(1)
    bucket.acquire()

    assert bucket.acquire() == pytest.approx(1.0)


@pytest.fixture(scope="module")
def signer():
    # A security-token signer builds clients without a config file; nothing here sends a request.
    return oci.auth.signers.SecurityTokenSigner("unused-token", rsa.generate_private_key(65537, 2048))


def _factory(signer, **kwargs) -> ClientFactory:
    return ClientFactory({"region": "eu-frankfurt-1"}, signer=signer, kms_endpoint_template="http://127.0.0.1:9/kms/{region}", **kwargs)


@pytest.mark.parametrize("method,category", [("GET", MANAGEMENT_READ), ("POST", MANAGEMENT_WRITE),
                                             ("PUT", MANAGEMENT_WRITE)])
def test_management_calls_are_categorised_by_method(method, category):
    assert _management_category(method) == category


def test_buckets_are_per_region_and_category(signer):
    factory = _factory(signer)

    assert factory.bucket("eu-frankfurt-1", CRYPTO) is factory.bucket("eu-frankfurt-1", CRYPTO)
    assert factory.bucket("eu-frankfurt-1", CRYPTO) is not factory.bucket("eu-stockholm-1", CRYPTO)
    assert factory.bucket("eu-frankfurt-1", CRYPTO) is not factory.bucket("eu-frankfurt-1", PROVISIONING)


def test_set_requests_per_second_reaches_existing_buckets(signer):
    factory = _factory(signer, requests_per_second=10)
    bucket = factory.bucket("eu-frankfurt-1", CRYPTO)

    factory.set_requests_per_second(3)

    assert bucket.rate == 3
    assert factory.bucket("eu-stockholm-1", CRYPTO).rate == 3


def test_vault_client_uses_template_and_no_circuit_breaker(signer):
    factory = _factory(signer)

    client = factory.vault_client("eu-stockholm-1")

    assert client.base_client.endpoint.startswith("http://127.0.0.1:9/kms/eu-stockholm-1")
    assert client.base_client.circuit_breaker_name is None
    assert factory.vault_client("eu-stockholm-1") is client


def test_from_environment_reads_endpoint_templates(signer):
    factory = ClientFactory.from_environment(
        {"region": "eu-frankfurt-1"}, signer=signer,
        environ={"KMS_BACKUP_KMS_ENDPOINT_TEMPLATE": "http://127.0.0.1:9/kms/{region}"})

    assert factory.vault_client("eu-frankfurt-1").base_client.endpoint.startswith("http://127.0.0.1:9/kms/")


def test_retry_strategy_retries_throttling_and_incorrect_state():
    strategy = build_retry_strategy()
    checkers = strategy.checkers

    throttled = oci.exceptions.ServiceError(429, "TooManyRequests", {}, "slow down")
    incorrect_state = oci.exceptions.ServiceError(409, "IncorrectState", {}, "creating")
    bad_request = oci.exceptions.ServiceError(400, "InvalidParameter", {}, "bad")

    assert checkers.should_retry(exception=throttled, current_attempt=1, total_time_elapsed=0)
    assert checkers.should_retry(exception=incorrect_state, current_attempt=1, total_time_elapsed=0)
    assert not checkers.should_retry(exception=bad_request, current_attempt=1, total_time_elapsed=0)
