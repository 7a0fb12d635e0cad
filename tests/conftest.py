"""Fixtures shared by every test folder.

- `api_key` (session): one RSA-2048 API-key pair reused by every test, since key generation is slow.
- `world` (session): two tenancies ("main" and "other"), each with two compartments and one user
  of `api_key` (see `kms_emulator.testing.World`).
- `emulator` (per test): a fresh `EmulatorServer` on 127.0.0.1 and a free port, seeded with `world`,
  with a 20 ms lifecycle delay and vault wrapping keys drawn from a process-wide pool (distinct
  within one server). It stops when the test ends, so no state leaks between tests.
- `oci_config` (per test): an `oci` config dict for the main tenancy's user in eu-frankfurt-1, its
  private key in a temporary file. `kms_emulator.testing.make_oci_config` builds one for another
  tenancy or region.
"""

import pytest

import secret_scan
from kms_emulator import EmulatorServer
from kms_emulator.testing import ApiKey, World, make_oci_config, new_api_key


@pytest.fixture(scope="session")
def api_key() -> ApiKey:
    return new_api_key()


@pytest.fixture(scope="session")
def world(api_key) -> World:
    return World.new(api_key)


@pytest.fixture
def emulator(world):
    with EmulatorServer(host="127.0.0.1", port=0, seed=world.seed(), lifecycle_delay_ms=20,
                        reuse_wrapping_keys=True) as server:
        yield server


@pytest.fixture
def oci_config(world, tmp_path) -> dict:
    return make_oci_config(world, tmp_path)


# --- suite-wide secret scan (see tests/secret_scan.py) ---------------------------------------------
# Every log record, captured output, function response and temporary file of the session is
# scanned at its end for the key material and export blobs the emulators produced; a hit fails
# the run. These three hooks are the whole wiring.


@pytest.fixture(scope="session", autouse=True)
def secret_scan_session(tmp_path_factory):
    yield from secret_scan.session_fixture(tmp_path_factory)


def pytest_runtest_logreport(report):
    secret_scan.record_test_output(report)


def pytest_sessionfinish(session, exitstatus):
    secret_scan.finish_session(session)
