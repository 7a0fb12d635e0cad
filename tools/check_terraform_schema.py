"""Check Terraform files against the trimmed ``oracle/oci`` provider schema, offline.

``terraform validate`` needs the provider plugin, which cannot be downloaded in CI. This checker
parses every ``.tf`` file with python-hcl2 and checks, for each ``oci_*`` resource and data source
and for each ``provider "oci"`` block:

- the type exists in the pinned provider version,
- every argument and nested block exists, also inside ``dynamic`` blocks,
- every required argument and nested block is present,
- ``required_providers`` pins ``oracle/oci`` to the version the schema was extracted from.

The schema comes from ``tests/terraform/oci_provider_schema.json``, written by
``tools/extract_oci_schema.py``. Run ``python tools/check_terraform_schema.py terraform`` for a report.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import hcl2
from lark.exceptions import LarkError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHEMA = REPO_ROOT / "tests" / "terraform" / "oci_provider_schema.json"

# Arguments that Terraform itself defines for every resource, data source or provider block.
META_ARGUMENTS = {"count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"}
PROVIDER_META_ARGUMENTS = {"alias", "version"}

PARSE_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)


@dataclass(frozen=True)
class Finding:
    """One schema violation: the file, the address of the block in it, and what is wrong."""

    path: Path
    address: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.address}: {self.message}"


def load_schema(path: Path = DEFAULT_SCHEMA) -> dict:
    return json.loads(path.read_text())


def terraform_files(root: Path) -> list[Path]:
    """Return the ``.tf`` files under root, skipping the ``.terraform`` working directories."""
    if root.is_file():
        return [root]
    return sorted(path for path in root.rglob("*.tf") if ".terraform" not in path.parts)


class SchemaChecker:
    def __init__(self, schema: dict):
        self.schema = schema
        self.findings: list[Finding] = []

    def report(self, path: Path, address: str, message: str) -> None:
        self.findings.append(Finding(path, address, message))

    def check_file(self, path: Path) -> None:
        try:
            document = hcl2.loads(path.read_text(), serialization_options=PARSE_OPTIONS)
        except (LarkError, ValueError) as exc:
            self.report(path, "(file)", f"cannot be parsed by python-hcl2: {exc}")
            return

        for block in document.get("terraform", []):
            self.check_required_providers(path, block)

        for block in document.get("provider", []):
            for name, body in block.items():
                if name == "oci":
                    self.check_body(path, 'provider "oci"', body, self.schema["provider"], PROVIDER_META_ARGUMENTS)

        self.check_typed_blocks(path, document, "resource", "resource_schemas", "resource")
        self.check_typed_blocks(path, document, "data", "data_source_schemas", "data source")

    def check_required_providers(self, path: Path, terraform_block: dict) -> None:
        expected_version = self.schema["provenance"]["provider_version"]
        for required_providers in terraform_block.get("required_providers", []):
            requirement = required_providers.get("oci")
            if requirement is None:
                continue
            address = "terraform.required_providers.oci"
            if requirement.get("source") != self.schema["provenance"]["provider_source"]:
                self.report(path, address, f"source is {requirement.get('source')!r}; set it to \"oracle/oci\"")
            if requirement.get("version") != expected_version:
                self.report(
                    path,
                    address,
                    f"version is {requirement.get('version')!r}, but the schema checked against is oracle/oci "
                    f"{expected_version}; pin version = \"{expected_version}\" or regenerate the schema",
                )

    def check_typed_blocks(self, path: Path, document: dict, keyword: str, schema_key: str, noun: str) -> None:
        schemas = self.schema[schema_key]
        for block in document.get(keyword, []):
            for type_name, instances in block.items():
                if not type_name.startswith("oci_"):
                    continue
                for instance_name, body in instances.items():
                    address = f"{'data.' if keyword == 'data' else ''}{type_name}.{instance_name}"
                    if type_name not in schemas:
                        self.report(
                            path,
                            address,
                            f"{noun} type {type_name} is not in the checked schema of oracle/oci "
                            f"{self.schema['provenance']['provider_version']}; fix the name, or run "
                            "tools/extract_oci_schema.py if the type is new to the module",
                        )
                        continue
                    self.check_body(path, address, body, schemas[type_name], META_ARGUMENTS)

    def check_body(self, path: Path, address: str, body: dict, schema: dict, allowed_meta: set[str]) -> None:
        attributes = schema["attributes"]
        blocks = schema["blocks"]
        present: set[str] = set()

        for name, value in body.items():
            if name in allowed_meta:
                continue

            if name == "dynamic":
                for dynamic in value:
                    for block_name, dynamic_body in dynamic.items():
                        present.add(block_name)
                        self.check_dynamic(path, address, block_name, dynamic_body, blocks)
                continue

            present.add(name)
            if name in attributes:
                continue
            if name in blocks:
                self.check_nested(path, address, name, value, blocks[name])
                continue
            self.report(path, address, f"unknown argument or block {name!r}; {self.suggest(name, schema)}")

        for name, spec in attributes.items():
            if spec["required"] and name not in present:
                self.report(path, address, f"required argument {name!r} is missing")
        for name, spec in blocks.items():
            if spec["required"] and name not in present:
                self.report(path, address, f"required block {name!r} is missing")

    def check_nested(self, path: Path, address: str, name: str, value: object, schema: dict) -> None:
        # python-hcl2 returns a block as a list of bodies, one per occurrence.
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            self.report(path, address, f"{name!r} is a nested block; write it as `{name} {{ ... }}`, not as an argument")
            return
        if schema["nesting"] == "single" and len(value) > 1:
            self.report(path, address, f"block {name!r} may appear at most once, found {len(value)}")
        for item in value:
            self.check_body(path, f"{address}.{name}", item, schema, set())

    def check_dynamic(self, path: Path, address: str, name: str, dynamic_body: dict, blocks: dict) -> None:
        if name not in blocks:
            self.report(path, address, f"dynamic block {name!r} is not a block of this type")
            return
        for content in dynamic_body.get("content", []):
            self.check_body(path, f"{address}.dynamic.{name}", content, blocks[name], set())

    @staticmethod
    def suggest(name: str, schema: dict) -> str:
        known = sorted(set(schema["attributes"]) | set(schema["blocks"]))
        close = [candidate for candidate in known if name.rstrip("s") in candidate or candidate.rstrip("s") in name]
        if close:
            return f"did you mean {', '.join(close)}?"
        return f"known names are {', '.join(known)}"


def check_paths(paths: list[Path], schema: dict) -> list[Finding]:
    checker = SchemaChecker(schema)
    for root in paths:
        for path in terraform_files(root):
            checker.check_file(path)
    return checker.findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check .tf files against the pinned oracle/oci provider schema.")
    parser.add_argument("paths", nargs="+", type=Path, help=".tf files or directories to check")
    parser.add_argument("--schema", type=Path, default=DEFAULT_SCHEMA, help="trimmed schema JSON")
    args = parser.parse_args(argv)

    findings = check_paths(args.paths, load_schema(args.schema))
    for finding in findings:
        print(finding)
    if findings:
        print(f"{len(findings)} schema errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
