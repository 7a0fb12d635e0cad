"""Policy checks over the statements, conditions and configuration the provider-free modules render.

The modules are applied in a temporary root module (no provider, no resources, local state only) and
their outputs are read with `terraform output -json`. The checks are plain functions, so each is also
run against a statement that breaks its rule.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import hcl2
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"
CONFIGURATION_DOC = REPO_ROOT / "docs" / "configuration.md"

FUNCTION_GROUP = "ocid1.dynamicgroup.oc1..functiongroup"
SCHEDULE_GROUP = "ocid1.dynamicgroup.oc1..schedulegroup"
SCHEDULE_ID = "ocid1.resourceschedule.oc1.eu-frankfurt-1.nightly"
SOURCE_VAULT = "ocid1.vault.oc1.eu-frankfurt-1.sourcevault"
TARGET_VAULT = "ocid1.vault.oc1.eu-amsterdam-1.targetvault"

ROOT_MODULE = f"""
module "statements" {{
  source = "{MODULES_DIR / 'policy_statements'}"

  function_id                 = "ocid1.fnfunc.oc1.eu-frankfurt-1.backupfunction"
  function_dynamic_group_id   = "{FUNCTION_GROUP}"
  function_compartment_id     = "ocid1.compartment.oc1..functions"
  schedule_id                 = "{SCHEDULE_ID}"
  schedule_dynamic_group_id   = "{SCHEDULE_GROUP}"
  source_vault_id             = "{SOURCE_VAULT}"
  source_vault_compartment_id = "ocid1.compartment.oc1..source"
  source_key_compartment_ids  = ["ocid1.compartment.oc1..source", "ocid1.compartment.oc1..morekeys"]
  key_ids                     = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a"]
  allow_target_export         = true
  metrics_compartment_id      = "ocid1.compartment.oc1..source"
  targets = [{{
    vault_id             = "{TARGET_VAULT}"
    vault_compartment_id = "ocid1.compartment.oc1..targetvaults"
    compartment_id       = "ocid1.compartment.oc1..targetkeys"
  }}]
}}

module "condition" {{
  source          = "{MODULES_DIR / 'event_condition'}"
  compartment_ids = ["ocid1.compartment.oc1..source"]
}}

module "config" {{
  source                 = "{MODULES_DIR / 'function_config'}"
  source_region          = "eu-frankfurt-1"
  source_vault_id        = "{SOURCE_VAULT}"
  source_compartment_ids = ["ocid1.compartment.oc1..source"]
  targets = [{{
    region                = "eu-amsterdam-1"
    vault_id              = "{TARGET_VAULT}"
    compartment_id        = "ocid1.compartment.oc1..targetkeys"
    display_name_template = "{{display_name}}-dr"
  }}]
  key_ids                = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.a"]
  key_names              = ["payments"]
  key_tags               = {{ backup = "dr" }}
  all_software_keys      = false
  exclude_key_ids        = ["ocid1.key.oc1.eu-frankfurt-1.sourcevault.b"]
  exclude_key_names      = ["scratch"]
  metrics_compartment_id = "ocid1.compartment.oc1..source"
}}

output "function_statements" {{
  value = module.statements.function_statements
}}

output "schedule_statements" {{
  value = module.statements.schedule_statements
}}

output "schedule_matching_rule" {{
  value = module.statements.schedule_matching_rule
}}

output "condition" {{
  value = module.condition.condition
}}

output "config" {{
  value = module.config.config
}}
"""


@pytest.fixture(scope="module")
def rendered(terraform_bin, terraform_env, tmp_path_factory) -> dict:
    """Apply the provider-free modules with every input set and return their outputs."""
    root = tmp_path_factory.mktemp("rendered")
    (root / "main.tf").write_text(ROOT_MODULE)
    env = dict(terraform_env, TF_DATA_DIR=str(root / ".terraform"))

    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        result = subprocess.run([terraform_bin, *args, "-no-color"], cwd=root, env=env, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stdout + result.stderr

    result = subprocess.run([terraform_bin, "output", "-json", "-no-color"], cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return {name: output["value"] for name, output in json.loads(result.stdout).items()}


# Rules. Each returns the statements that break it.


def grants_manage_all_resources(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\bmanage\s+all-resources\b", s, re.IGNORECASE)]


def grants_tenancy_wide_key_management(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\bmanage\s+keys\s+in\s+tenancy\b", s, re.IGNORECASE)]


def any_user_without_principal_conditions(statements: list[str]) -> list[str]:
    return [
        s
        for s in statements
        if re.search(r"\ballow\s+any-user\b", s, re.IGNORECASE)
        and not ("request.principal.type" in s and "request.principal.id" in s)
    ]


def key_statements_without_vault_condition(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\s(keys|key-family)\s+in\s", s) and "target.vault.id = '" not in s]


RULES = [
    grants_manage_all_resources,
    grants_tenancy_wide_key_management,
    any_user_without_principal_conditions,
    key_statements_without_vault_condition,
]

VIOLATIONS = [
    (grants_manage_all_resources, "Allow dynamic-group id x to manage all-resources in compartment id c"),
    (grants_tenancy_wide_key_management, "Allow dynamic-group id x to manage keys in tenancy where target.vault.id = 'v'"),
    (any_user_without_principal_conditions, "Allow any-user to use fn-invocation in compartment id c where request.principal.type = 'resourceschedule'"),
    (key_statements_without_vault_condition, "Allow dynamic-group id x to use keys in compartment id c where request.permission = 'KEY_EXPORT'"),
]


@pytest.mark.parametrize(("rule", "statement"), VIOLATIONS, ids=[rule.__name__ for rule, _ in VIOLATIONS])
def test_rule_catches_violation(rule, statement):
    assert rule([statement]) == [statement]


@pytest.mark.parametrize("rule", RULES, ids=[rule.__name__ for rule in RULES])
def test_rendered_statements_follow_rule(rendered, rule):
    statements = rendered["function_statements"] + rendered["schedule_statements"]

    assert statements, "no statements rendered"
    assert rule(statements) == []


def test_key_management_only_in_target_compartment(rendered):
    manage = [s for s in rendered["function_statements"] if " manage " in s]

    assert manage
    assert all("in compartment id ocid1.compartment.oc1..targetkeys " in s for s in manage)
    assert all(f"target.vault.id = '{TARGET_VAULT}'" in s for s in manage)


def test_source_export_narrowed_to_keys(rendered):
    export = [s for s in rendered["function_statements"] if "KEY_EXPORT" in s and SOURCE_VAULT in s]

    assert len(export) == 2
    assert all("target.key.id = 'ocid1.key.oc1.eu-frankfurt-1.sourcevault.a'" in s for s in export)


def test_every_statement_is_for_the_function_group(rendered):
    assert all(s.startswith(f"Allow dynamic-group id {FUNCTION_GROUP} to ") for s in rendered["function_statements"])


def test_schedule_policy_names_schedule_principal(rendered):
    assert rendered["schedule_statements"]
    assert all(s.startswith(f"Allow dynamic-group id {SCHEDULE_GROUP} to use fn-invocation ") for s in rendered["schedule_statements"])
    assert rendered["schedule_matching_rule"] == f"ALL {{resource.type = 'resourceschedule', resource.id = '{SCHEDULE_ID}'}}"


def test_event_condition_has_key_version_events(rendered):
    event_types = json.loads(rendered["condition"])["eventType"]

    assert "com.oraclecloud.keymanagementservice.createkeyversion.end" in event_types
    assert "com.oraclecloud.keymanagementservice.autokeyrotate.end" in event_types


def documented_variables() -> dict[str, str]:
    """Return the KMS_BACKUP_* variables of docs/configuration.md with their `required` column."""
    rows = re.findall(r"^\| `(KMS_BACKUP_[A-Z_]+)` \| ([^|]+) \|", CONFIGURATION_DOC.read_text(), re.MULTILINE)
    return {name: required.strip() for name, required in rows}


def test_documented_variables_parsed():
    variables = documented_variables()

    assert variables["KMS_BACKUP_TARGETS"] == "yes"
    assert variables["KMS_BACKUP_KMS_ENDPOINT_TEMPLATE"] == "tests only"


def test_config_keys_are_documented(rendered):
    variables = documented_variables()
    production = {name for name, required in variables.items() if required != "tests only"}

    assert set(rendered["config"]) <= production
    assert {name for name, required in variables.items() if required == "yes"} <= set(rendered["config"])


def test_config_targets_json_fields(rendered):
    targets = json.loads(rendered["config"]["KMS_BACKUP_TARGETS"])

    assert targets == [
        {
            "region": "eu-amsterdam-1",
            "vault_id": TARGET_VAULT,
            "compartment_id": "ocid1.compartment.oc1..targetkeys",
            "protection_mode": "SOFTWARE",
            "display_name_template": "{display_name}-dr",
        }
    ]


def test_tf_files_name_documented_variables():
    production = {name for name, required in documented_variables().items() if required != "tests only"}
    used = set()
    for path in TERRAFORM_DIR.rglob("*.tf"):
        used.update(re.findall(r"\bKMS_BACKUP_[A-Z_]+\b", path.read_text()))

    assert used, "no KMS_BACKUP_ name found in the .tf files"
    assert used <= production


def parse(path: Path) -> dict:
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    return hcl2.loads(path.read_text(), serialization_options=options)


def resource(path: Path, type_name: str, name: str) -> dict:
    for block in parse(path).get("resource", []):
        if type_name in block and name in block[type_name]:
            return block[type_name][name]
    raise AssertionError(f"{path} has no resource {type_name}.{name}")


def variable(name: str) -> dict:
    for block in parse(TERRAFORM_DIR / "variables.tf")["variable"]:
        if name in block:
            return block[name]
    raise AssertionError(f"variables.tf has no variable {name}")


def test_function_uses_rendered_config():
    function = resource(TERRAFORM_DIR / "functions.tf", "oci_functions_function", "this")

    assert function["config"] == "${module.function_config.config}"


def test_function_timeout_at_most_300():
    function = resource(TERRAFORM_DIR / "functions.tf", "oci_functions_function", "this")
    timeout = variable("function_timeout_in_seconds")

    assert function["timeout_in_seconds"] == "${var.function_timeout_in_seconds}"
    assert timeout["default"] <= 300
    assert any("<= 300" in rule["condition"] for rule in timeout["validation"])


def test_events_rule_targets_function():
    rule = resource(TERRAFORM_DIR / "events.tf", "oci_events_rule", "key_changes")
    action = rule["actions"][0]["actions"][0]

    assert rule["provider"] == "${oci.source}"
    assert rule["condition"] == "${module.event_condition.condition}"
    assert action["action_type"] == "FAAS"
    assert action["function_id"] == "${oci_functions_function.this.id}"


def test_schedule_invokes_function():
    schedule = resource(TERRAFORM_DIR / "schedule.tf", "oci_resource_scheduler_schedule", "sweep")

    assert schedule["action"] == "START_RESOURCE"
    assert schedule["recurrence_type"] == "CRON"
    assert schedule["resources"][0]["id"] == "${oci_functions_function.this.id}"


def test_iam_written_in_home_region():
    document = parse(TERRAFORM_DIR / "iam.tf")
    resources = [body for block in document["resource"] for instances in block.values() for body in instances.values()]

    assert len(resources) == 4
    assert all(body["provider"] == "${oci.home}" for body in resources)
