"""Fixtures for the offline Terraform checks: the terraform binary and an isolated environment."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.skip("terraform binary not found on PATH; install Terraform 1.6 or later to run the offline Terraform checks")
    return path


@pytest.fixture(scope="session")
def terraform_env(tmp_path_factory) -> dict[str, str]:
    """Environment that keeps terraform offline and its working files out of the source tree."""
    home = tmp_path_factory.mktemp("terraform-home")
    cli_config = home / "terraformrc"
    cli_config.write_text("# empty: no provider installation is needed for provider-free modules\n")

    env = dict(os.environ)
    env.update(
        {
            # Checkpoint is terraform's version check against a remote service, so the tests turn it off.
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "NO_COLOR": "1",
        }
    )
    return env


@pytest.fixture
def run_terraform(terraform_bin, terraform_env, tmp_path):
    """Run terraform in a directory with a per-test data directory, and return the completed process."""

    def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
        env = dict(terraform_env, TF_DATA_DIR=str(tmp_path / "tf-data"))
        return subprocess.run(
            [terraform_bin, *args, "-no-color"] if args[0] != "fmt" else [terraform_bin, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )

    return run
