"""OCIDs shaped like the ones OCI issues.

A real vault OCID carries the region and an endpoint prefix that reappears in the OCIDs of its
keys and key versions and in its endpoint host names. The emulator keeps that shape:
`ocid1.vault.oc1.<region>.<vault-suffix>.<unique>` and `ocid1.key.oc1.<region>.<vault-suffix>.<unique>`,
where `<vault-suffix>` also names the vault's management and crypto endpoints on the emulator.
"""

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def _unique(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_vault_suffix() -> str:
    return "e" + _unique(11)


def new_vault_id(region: str, vault_suffix: str) -> str:
    return f"ocid1.vault.oc1.{region}.{vault_suffix}.{_unique(52)}"


def new_key_id(region: str, vault_suffix: str) -> str:
    return f"ocid1.key.oc1.{region}.{vault_suffix}.{_unique(52)}"


def new_key_version_id(region: str, vault_suffix: str) -> str:
    return f"ocid1.keyversion.oc1.{region}.{vault_suffix}.{_unique(52)}"


def new_wrapping_key_id(region: str, vault_suffix: str) -> str:
    return f"ocid1.key.oc1.{region}.{vault_suffix}.{_unique(52)}"


def new_tenancy_id() -> str:
    return f"ocid1.tenancy.oc1..{_unique(60)}"


def new_compartment_id() -> str:
    return f"ocid1.compartment.oc1..{_unique(60)}"


def new_user_id() -> str:
    return f"ocid1.user.oc1..{_unique(60)}"


def new_request_id() -> str:
    return _unique(32).upper()
