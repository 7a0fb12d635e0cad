"""`terraform fmt`, `init`, `validate` and `test`, run offline on the provider-free submodules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

TERRAFORM_DIR = Path(__file__).resolve().parents[2] / "terraform"
MODULES_DIR = TERRAFORM_DIR / "modules"

PROVIDER_FREE_MODULES = sorted(path.name for path in MODULES_DIR.iterdir() if (path / "main.tf").exists())


def test_fmt_check_clean(run_terraform):
    result = run_terraform(["fmt", "-check", "-recursive", "-diff", str(TERRAFORM_DIR)], cwd=TERRAFORM_DIR)

    assert result.returncode == 0, f"terraform fmt would change files:\n{result.stdout}{result.stderr}"


def test_provider_free_modules_found():
    assert PROVIDER_FREE_MODULES == ["event_condition", "function_config", "policy_statements"]


@pytest.mark.parametrize("module", PROVIDER_FREE_MODULES)
def test_module_init_validate_test(run_terraform, module):
    module_dir = MODULES_DIR / module

    init = run_terraform(["init", "-backend=false", "-input=false"], cwd=module_dir)
    assert init.returncode == 0, init.stdout + init.stderr
    assert "Installing" not in init.stdout, f"a provider-free module installed a provider:\n{init.stdout}"

    validate = run_terraform(["validate"], cwd=module_dir)
    assert validate.returncode == 0, validate.stdout + validate.stderr

    test = run_terraform(["test"], cwd=module_dir)
    assert test.returncode == 0, test.stdout + test.stderr
    summary = re.search(r"(\d+) passed, (\d+) failed", test.stdout)
    assert summary is not None, f"terraform test printed no summary:\n{test.stdout}"
    assert int(summary.group(1)) > 0, f"terraform test ran no test:\n{test.stdout}"
    assert int(summary.group(2)) == 0, test.stdout
