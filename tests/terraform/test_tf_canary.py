"""The canary's policy statements and the function configuration the module can write.

The provider-free modules are applied in a temporary root module, once with enable_canary off and
once with it on, on the same inputs. The permissions expected of the canary come from
kms_key_backup.permissions, the table the canary itself reports, so the module and the function
cannot drift apart silently. The rendered configuration is read by the function's own
load_config.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import hcl2
import pytest

from kms_key_backup import permissions
from kms_key_backup.function import config as function_config

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
PARSE_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)

FUNCTION_GROUP = "ocid1.dynamicgroup.oc1..functiongroup"
SOURCE_VAULT = "ocid1.vault.oc1.eu-frankfurt-1.sourcevault"
FIRST_TARGET_VAULT = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"
SECOND_TARGET_VAULT = "ocid1.vault.oc1.eu-stockholm-1.secondvault"
CANARY_COMPARTMENT = "ocid1.compartment.oc1..canary"
OTHER_KEY_COMPARTMENT = "ocid1.compartment.oc1..morekeys"
FIRST_TARGET_KEYS = "ocid1.compartment.oc1..targetkeys"
SECOND_TARGET_KEYS = "ocid1.compartment.oc1..secondkeys"
VAULTS = {SOURCE_VAULT, FIRST_TARGET_VAULT, SECOND_TARGET_VAULT}

# Every request.permission the copy-only policy granted before the canary existed.
COPY_PERMISSIONS = {"KEY_EXPORT", "VAULT_IMPORT_KEY", "KEY_INSPECT", "KEY_READ", "KEY_IMPORT", "KEY_UPDATE",
                    "FN_INVOCATION"}

# SDK operations the canary and its probes call, by the vault they call them in.
CANARY_SOURCE_OPERATIONS = ("create_key", "create_key_version", "schedule_key_deletion", "disable_key", "encrypt")
CANARY_FIRST_TARGET_OPERATIONS = ("schedule_key_deletion", "disable_key", "decrypt")
CANARY_OTHER_TARGET_OPERATIONS = ("schedule_key_deletion",)


def permissions_of(operations: tuple[str, ...]) -> set[str]:
    """Return the IAM permissions of SDK operations, from the table the canary reports."""
    return {permission for operation in operations for permission in permissions.for_operation(operation).permissions}


def statements_module(name: str, enable_canary: bool) -> str:
    return f"""
module "{name}" {{
  source = "{MODULES_DIR / 'policy_statements'}"

  function_id                 = "ocid1.fnfunc.oc1.eu-frankfurt-1.backupfunction"
  function_dynamic_group_id   = "{FUNCTION_GROUP}"
  function_compartment_id     = "ocid1.compartment.oc1..functions"
  source_vault_id             = "{SOURCE_VAULT}"
  source_vault_compartment_id = "ocid1.compartment.oc1..source"
  source_key_compartment_ids  = ["{CANARY_COMPARTMENT}", "{OTHER_KEY_COMPARTMENT}"]
  key_ids                     = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a"]
  metrics_compartment_id      = "ocid1.compartment.oc1..source"
  enable_canary               = {str(enable_canary).lower()}
  targets = [
    {{
      vault_id             = "{FIRST_TARGET_VAULT}"
      vault_compartment_id = "ocid1.compartment.oc1..targetvaults"
      compartment_id       = "{FIRST_TARGET_KEYS}"
    }},
    {{
      vault_id             = "{SECOND_TARGET_VAULT}"
      vault_compartment_id = "ocid1.compartment.oc1..secondvaults"
      compartment_id       = "{SECOND_TARGET_KEYS}"
    }},
  ]
}}

output "{name}" {{
  value = module.{name}.function_statements
}}
"""


# Every input of the config module set away from its default, so each variable is written.
CONFIG_MODULE = f"""
module "config" {{
  source                 = "{MODULES_DIR / 'function_config'}"
  source_region          = "eu-frankfurt-1"
  source_vault_id        = "{SOURCE_VAULT}"
  source_compartment_ids = ["{CANARY_COMPARTMENT}"]
  targets = [{{
    region         = "eu-amsterdam-1"
    vault_id       = "{FIRST_TARGET_VAULT}"
    compartment_id = "{FIRST_TARGET_KEYS}"
  }}]
  key_ids                 = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a"]
  key_names               = ["payments"]
  key_tags                = {{ backup = "dr" }}
  all_software_keys       = false
  exclude_key_ids         = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.b"]
  exclude_key_names       = ["scratch"]
  versions                = "current"
  wrapping_algorithm      = "RSA_OAEP_SHA256"
  deep_verify             = true
  concurrency             = 3
  requests_per_second     = 2.5
  allow_payload_targets   = true
  allow_payload_widen     = true
  metrics_namespace       = "dr_copies"
  metrics_compartment_id  = "ocid1.compartment.oc1..metrics"
  deadline_margin_seconds = 45
  log_level               = "DEBUG"
  log_payload             = true
}}

output "config" {{
  value = module.config.config
}}
"""


@pytest.fixture(scope="module")
def rendered(terraform_bin, terraform_env, tmp_path_factory) -> dict:
    """Apply the modules with the canary off and on and with every config input set, and return the outputs."""
    root = tmp_path_factory.mktemp("canary")
    (root / "main.tf").write_text(statements_module("canary_off", False) + statements_module("canary_on", True)
                                  + CONFIG_MODULE)
    env = dict(terraform_env, TF_DATA_DIR=str(root / ".terraform"))

    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"], ["output", "-json"]):
        result = subprocess.run([terraform_bin, *args, "-no-color"], cwd=root, env=env, capture_output=True,
                                text=True, timeout=240)
        assert result.returncode == 0, result.stdout + result.stderr

    return {name: output["value"] for name, output in json.loads(result.stdout).items()}


def granted_permissions(statement: str) -> set[str]:
    return set(re.findall(r"request\.permission = '([A-Z_]+)'", statement))


def vault_of(statement: str) -> str | None:
    match = re.search(r"target\.vault\.id = '([^']+)'", statement)
    return match.group(1) if match else None


def added_statements(rendered: dict) -> list[str]:
    return [statement for statement in rendered["canary_on"] if statement not in rendered["canary_off"]]


def grants_in(rendered: dict, vault_id: str) -> set[str]:
    return {permission for statement in added_statements(rendered) if vault_of(statement) == vault_id
            for permission in granted_permissions(statement)}


# Canary off: the policy is the copy-only policy.


def test_canary_off_grants_copy_permissions_only(rendered):
    statements = rendered["canary_off"]

    assert statements
    for statement in statements:
        assert granted_permissions(statement) <= COPY_PERMISSIONS, statement


def test_canary_off_manages_target_keys_only(rendered):
    manage = [statement for statement in rendered["canary_off"] if " to manage keys " in statement]

    assert manage
    for statement in manage:
        assert vault_of(statement) in (FIRST_TARGET_VAULT, SECOND_TARGET_VAULT), statement


def test_canary_off_keeps_export_narrowed(rendered):
    export = [statement for statement in rendered["canary_off"] if "KEY_EXPORT" in granted_permissions(statement)]

    assert len(export) == 2
    for statement in export:
        assert "target.key.id = 'ocid1.key.oc1.eu-frankfurt-1.sourcevault.a'" in statement


# Canary on: statements are only added, each narrowed to one vault and the canary's permissions.


def test_canary_on_only_adds_statements(rendered):
    assert set(rendered["canary_off"]) <= set(rendered["canary_on"])
    assert len(added_statements(rendered)) == 3


def test_added_statements_name_a_vault(rendered):
    added = added_statements(rendered)

    assert added
    for statement in added:
        assert vault_of(statement) in VAULTS, statement
        assert statement.startswith(f"Allow dynamic-group id {FUNCTION_GROUP} to manage keys in compartment id ")


def test_added_statements_narrowed_by_permission(rendered):
    canary_permissions = permissions_of(CANARY_SOURCE_OPERATIONS + CANARY_FIRST_TARGET_OPERATIONS) | {"KEY_EXPORT"}
    added = added_statements(rendered)

    assert added
    for statement in added:
        assert " where all {" in statement, statement
        assert granted_permissions(statement), statement
        assert granted_permissions(statement) <= canary_permissions, statement


def test_source_grants_match_canary_calls(rendered):
    # With a key list, the regular export statement cannot cover the throwaway keys.
    assert grants_in(rendered, SOURCE_VAULT) == permissions_of(CANARY_SOURCE_OPERATIONS) | {"KEY_EXPORT"}


def test_first_target_grants_match_probes(rendered):
    assert grants_in(rendered, FIRST_TARGET_VAULT) == permissions_of(CANARY_FIRST_TARGET_OPERATIONS)


def test_other_target_grants_deletion_only(rendered):
    assert grants_in(rendered, SECOND_TARGET_VAULT) == permissions_of(CANARY_OTHER_TARGET_OPERATIONS)


def test_source_grants_in_canary_compartment(rendered):
    source = [statement for statement in added_statements(rendered) if vault_of(statement) == SOURCE_VAULT]

    assert len(source) == 1
    assert f" in compartment id {CANARY_COMPARTMENT} where " in source[0]


def test_target_grants_in_key_compartments(rendered):
    compartments = {vault_of(statement): re.search(r" in compartment id (\S+) where ", statement).group(1)
                    for statement in added_statements(rendered)}

    assert compartments[FIRST_TARGET_VAULT] == FIRST_TARGET_KEYS
    assert compartments[SECOND_TARGET_VAULT] == SECOND_TARGET_KEYS


# The function configuration: every variable the function reads, and nothing else.


TEST_ONLY_VARIABLES = {function_config.KMS_ENDPOINT_TEMPLATE, function_config.TELEMETRY_ENDPOINT_TEMPLATE}


def test_config_writes_every_production_variable(rendered):
    assert set(rendered["config"]) == function_config.KNOWN_VARIABLES - TEST_ONLY_VARIABLES


def test_config_loads_in_function(rendered):
    loaded = function_config.load_config(rendered["config"])

    assert loaded.unknown_variables == ()
    assert loaded.job.options.requests_per_second == 2.5
    assert loaded.job.options.concurrency == 3
    assert loaded.job.options.wrapping_algorithm == "RSA_OAEP_SHA256"
    assert loaded.job.options.deep_verify is True
    assert loaded.job.versions.mode == "current"
    assert loaded.allow_payload_targets is True
    assert loaded.allow_payload_widen is True
    assert loaded.deadline_margin_seconds == 45
    assert loaded.log_level == "DEBUG"
    assert loaded.log_payload is True
    assert loaded.metrics_namespace == "dr_copies"
    assert loaded.metrics_compartment_id == "ocid1.compartment.oc1..metrics"


def module_arguments(path: Path, module_name: str) -> set[str]:
    for block in hcl2.loads(path.read_text(), serialization_options=PARSE_OPTIONS)["module"]:
        if module_name in block:
            return {name for name in block[module_name] if name not in ("source", "providers")}
    raise AssertionError(f"{path} has no module {module_name}")


def declared_variables(path: Path) -> dict[str, dict]:
    variables = {}
    for block in hcl2.loads(path.read_text(), serialization_options=PARSE_OPTIONS)["variable"]:
        variables.update(block)
    return variables


def test_root_passes_every_config_input():
    inputs = set(declared_variables(MODULES_DIR / "function_config" / "variables.tf"))

    assert module_arguments(TERRAFORM_DIR / "main.tf", "function_config") == inputs


def test_root_passes_enable_canary():
    assert "enable_canary" in module_arguments(TERRAFORM_DIR / "main.tf", "policy_statements")
    assert declared_variables(TERRAFORM_DIR / "variables.tf")["enable_canary"]["default"] is False


@pytest.mark.parametrize("name", ["concurrency", "requests_per_second", "wrapping_algorithm", "deadline_margin_seconds",
                                  "log_level", "metrics_compartment_id"])
def test_root_setting_has_validation(name):
    variable = declared_variables(TERRAFORM_DIR / "variables.tf")[name]

    assert variable["description"]
    assert variable["type"]
    assert variable["validation"]
