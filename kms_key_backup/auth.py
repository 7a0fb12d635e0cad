"""Authentication for the CLI: the four methods of oci-cli, returning an `oci` config and signer.

`load_auth` returns ``(config, signer)`` for `ClientFactory`. One signer serves every region,
because the factory sets the region (or the vault endpoint) of each client it builds.

Defaults follow oci-cli: ``--auth`` from ``OCI_CLI_AUTH`` (else ``api_key``), ``--config-file`` from
``OCI_CLI_CONFIG_FILE`` (else ``~/.oci/config``), ``--profile`` from ``OCI_CLI_PROFILE`` (else
``DEFAULT``). Instance principals read the instance metadata service and resource principals read
the ``OCI_RESOURCE_PRINCIPAL_*`` environment variables that OCI Functions sets.
"""

from __future__ import annotations

import os
from typing import Any

import oci

from kms_key_backup.errors import InvalidInputError

API_KEY = "api_key"
INSTANCE_PRINCIPAL = "instance_principal"
RESOURCE_PRINCIPAL = "resource_principal"
SECURITY_TOKEN = "security_token"
AUTH_METHODS = (API_KEY, INSTANCE_PRINCIPAL, RESOURCE_PRINCIPAL, SECURITY_TOKEN)


def add_auth_arguments(parser: Any) -> None:
    """Add ``--auth``, ``--config-file`` and ``--profile`` to an argparse parser."""
    group = parser.add_argument_group("authentication (as in oci-cli)")
    group.add_argument(
        "--auth",
        choices=AUTH_METHODS,
        default=None,
        help="authentication method (default: $OCI_CLI_AUTH, else api_key)",
    )
    group.add_argument(
        "--config-file",
        default=None,
        help="OCI config file for api_key and security_token (default: $OCI_CLI_CONFIG_FILE, else ~/.oci/config)",
    )
    group.add_argument(
        "--profile",
        default=None,
        help="profile in the config file (default: $OCI_CLI_PROFILE, else DEFAULT)",
    )


def load_auth(
    auth: str | None = None, config_file: str | None = None, profile: str | None = None
) -> tuple[dict[str, Any], Any]:
    """Build the `oci` config dict and signer of an authentication method.

    Raises `InvalidInputError` naming the option when the method, file or profile is unusable.
    """
    auth = auth or os.environ.get("OCI_CLI_AUTH") or API_KEY
    config_file = config_file or os.environ.get("OCI_CLI_CONFIG_FILE") or oci.config.DEFAULT_LOCATION
    profile = profile or os.environ.get("OCI_CLI_PROFILE") or oci.config.DEFAULT_PROFILE

    if auth == API_KEY:
        return _api_key(config_file, profile)
    if auth == SECURITY_TOKEN:
        return _security_token(config_file, profile)
    if auth == INSTANCE_PRINCIPAL:
        signer = oci.auth.signers.InstancePrincipalsSecurityTokenSigner()
        return {"region": signer.region, "tenancy": signer.tenancy_id}, signer
    if auth == RESOURCE_PRINCIPAL:
        return _resource_principal()
    raise InvalidInputError("--auth", auth, f"unknown authentication method; use one of {', '.join(AUTH_METHODS)}")


def _read_profile(config_file: str, profile: str) -> dict[str, Any]:
    try:
        return oci.config.from_file(config_file, profile)
    except oci.exceptions.ConfigFileNotFound:
        raise InvalidInputError(
            "--config-file", config_file, "the OCI config file does not exist; create it with `oci setup config`"
        ) from None
    except oci.exceptions.ProfileNotFound:
        raise InvalidInputError(
            "--profile", profile, f"the profile is not in {config_file}; give a profile that the file defines"
        ) from None
    except oci.exceptions.InvalidKeyFilePath as exc:
        raise InvalidInputError("--profile", profile, f"its key_file is unusable ({exc}); fix key_file") from None
    except ValueError as exc:
        raise InvalidInputError("--config-file", config_file, f"the file is invalid ({exc}); fix the file") from None


def _api_key(config_file: str, profile: str) -> tuple[dict[str, Any], Any]:
    config = _read_profile(config_file, profile)
    try:
        oci.config.validate_config(config)
    except oci.exceptions.InvalidConfig as exc:
        fields = ", ".join(f"{name} {problem}" for name, problem in exc.args[0].items())
        raise InvalidInputError(
            "--profile", profile, f"the profile in {config_file} is incomplete ({fields}); fix those entries"
        ) from None

    try:
        signer = oci.signer.Signer(
            tenancy=config["tenancy"],
            user=config["user"],
            fingerprint=config["fingerprint"],
            private_key_file_location=config.get("key_file"),
            pass_phrase=oci.config.get_config_value_or_default(config, "pass_phrase"),
            private_key_content=config.get("key_content"),
        )
    except oci.exceptions.MissingPrivateKeyPassphrase:
        raise InvalidInputError(
            "--profile", profile, "its key_file is encrypted; add pass_phrase to the profile"
        ) from None
    except (oci.exceptions.InvalidPrivateKey, OSError) as exc:
        raise InvalidInputError("--profile", profile, f"its key_file cannot be loaded ({exc}); fix key_file") from None
    return config, signer


def _security_token(config_file: str, profile: str) -> tuple[dict[str, Any], Any]:
    # As `oci session authenticate` writes it: the profile names the token file and the session key.
    config = _read_profile(config_file, profile)
    token_file = config.get("security_token_file")
    if not token_file:
        raise InvalidInputError(
            "--profile", profile, "security_token needs security_token_file in the profile; run `oci session authenticate`"
        )
    token_path = os.path.expanduser(token_file)
    try:
        with open(token_path, encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise InvalidInputError(
            "--profile", profile, f"security_token_file {token_path} cannot be read ({exc.strerror}); fix the path"
        ) from None

    try:
        private_key = oci.signer.load_private_key_from_file(
            config.get("key_file"), oci.config.get_config_value_or_default(config, "pass_phrase")
        )
    except (oci.exceptions.InvalidPrivateKey, OSError, TypeError) as exc:
        raise InvalidInputError("--profile", profile, f"its key_file cannot be loaded ({exc}); fix key_file") from None
    return config, oci.auth.signers.SecurityTokenSigner(token, private_key)


def _resource_principal() -> tuple[dict[str, Any], Any]:
    if not os.environ.get("OCI_RESOURCE_PRINCIPAL_VERSION"):
        raise InvalidInputError(
            "--auth",
            RESOURCE_PRINCIPAL,
            "OCI_RESOURCE_PRINCIPAL_VERSION is not set; resource principals work only inside OCI Functions "
            "or another resource that sets the OCI_RESOURCE_PRINCIPAL_* variables",
        )
    try:
        signer = oci.auth.signers.get_resource_principals_signer()
    except (ValueError, OSError, oci.exceptions.ClientError) as exc:
        raise InvalidInputError(
            "--auth", RESOURCE_PRINCIPAL, f"the resource principal variables are unusable ({exc}); check them"
        ) from None
    config: dict[str, Any] = {"region": signer.region}
    tenancy_id = getattr(signer, "tenancy_id", None)
    if tenancy_id:
        config["tenancy"] = tenancy_id
    return config, signer
