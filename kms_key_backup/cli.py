"""The ``kms-key-backup`` command: an argparse dispatcher with one function per subcommand.

Exit codes: 0 ok, 1 failed, 2 invalid input, 3 partial (some keys or versions not copied).
Invoked with the original script's flags and no subcommand, it behaves as that script did
(`kms_key_backup.legacy`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Callable

import oci

from kms_key_backup import auth, canary, doctor, exportfile, keyexport, keywrap, legacy, pemfile, recheck, restore
from kms_key_backup.clients import ClientFactory
from kms_key_backup.engine import run_job
from kms_key_backup.errors import InvalidInputError, KmsBackupError
from kms_key_backup.job import Job, parse_job
from kms_key_backup.report import FAILED, OK, PARTIAL, Report

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_PARTIAL = 3
EXIT_CODES = {OK: EXIT_OK, PARTIAL: EXIT_PARTIAL, FAILED: EXIT_FAILED}


# --- output --------------------------------------------------------------------------------------

class Output:
    """Writes a command's result as JSON (``--output json``) or as readable text."""

    def __init__(self, fmt: str, stdout=None, stderr=None) -> None:
        self.fmt = fmt
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr

    def progress(self, message: str) -> None:
        # Progress goes to stderr in both formats, so stdout stays one JSON document.
        print(message, file=self.stderr)

    def result(self, document: dict[str, Any], text: list[str]) -> None:
        if self.fmt == "json":
            print(json.dumps(document, indent=2, sort_keys=True), file=self.stdout)
        else:
            print("\n".join(text), file=self.stdout)

    def error(self, message: str, document: dict[str, Any]) -> None:
        if self.fmt == "json":
            print(json.dumps({"error": document}, indent=2, sort_keys=True), file=self.stdout)
        print(f"kms-key-backup: error: {message}", file=self.stderr)


def _add_output_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", choices=("text", "json"), default="text", help="result format (default text)")


# --- shared helpers ------------------------------------------------------------------------------

def load_job_file(path: str, flag: str = "--job") -> Job:
    """Read and validate a job file; raise ``InvalidInputError`` naming the flag or field."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise InvalidInputError(flag, path, "the file does not exist", "Give the path of a JSON job file.") from None
    except IsADirectoryError:
        raise InvalidInputError(flag, path, "the path is a directory", "Give the path of a JSON job file.") from None
    except json.JSONDecodeError as exc:
        raise InvalidInputError(flag, path, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                                "Fix the JSON syntax; docs/job.md shows a complete job.") from None
    return parse_job(data)


def build_factory(args: argparse.Namespace) -> ClientFactory:
    """Build the ClientFactory for the authentication options of a command (``--auth`` and friends)."""
    config, signer = auth.load_auth(getattr(args, "auth", None), getattr(args, "config_file", None),
                                    getattr(args, "profile", None))
    return ClientFactory.from_environment(config, signer)


def print_report(report: Report, output_format: str, stream=None) -> None:
    stream = stream or sys.stdout
    data = report.to_dict()
    if output_format == "json":
        json.dump(data, stream, indent=2, sort_keys=True)
        stream.write("\n")
        return
    counts = data["counts"]
    stream.write(f"run {data['run_id']}: {data['status']}{' (dry run)' if data['dry_run'] else ''}\n")
    for key in data["keys"]:
        for target in key["targets"]:
            copied = len(target["versions_copied"])
            planned = len(target.get("versions_planned", []))
            line = f"  {key['display_name'] or key['source_key_id']}: {target['action']} in {target['target_region']}"
            if planned:
                line += f", {planned} version(s) to copy"
            if copied:
                verified = sum(1 for v in target["versions_copied"] if v["verified"])
                line += f", {copied} version(s) copied, {verified} verified"
            if target["versions_skipped"]:
                line += f", {len(target['versions_skipped'])} skipped"
            if target["versions_left"]:
                line += f", {len(target['versions_left'])} left for the next run"
            if target.get("error"):
                line += f", failed: {target['error'].get('message')}"
            stream.write(line + "\n")
        if key.get("error"):
            stream.write(f"  {key['display_name'] or key['source_key_id']}: failed: {key['error'].get('message')}\n")
    for key in data["unsupported"]:
        stream.write(f"  {key['display_name'] or key['source_key_id']}: not copied: {key['reason']}\n")
    for key_id in data["keys_left"]:
        stream.write(f"  {key_id}: left for the next run (deadline)\n")
    for warning in data["warnings"]:
        stream.write(f"  warning: {warning}\n")
    if data.get("error"):
        stream.write(f"  error in {data['error']['step']}: {data['error']['message']}\n")
    stream.write(f"  {counts['versions_copied']} version(s) copied, {counts['keys_unsupported']} key(s) not "
                 f"copyable, {counts['keys_failed']} failure(s)\n")


def _fingerprint_lines(envelope: exportfile.ExportEnvelope) -> list[str]:
    kind = envelope.key_fingerprint["kind"]
    label = "SHA-256 of the key version's public key" if kind == exportfile.RSA_PUBLIC_KEY_SHA256 else "AES key check value"
    return [
        "######## Fingerprint ################",
        f"{label}: {envelope.key_fingerprint['value']}",
        "#####################################",
    ]


def _default_export_path(key_version_id: str) -> str:
    stamp = exportfile.utc_now().replace(":", "").replace("-", "").split(".")[0]
    return f"kms-key-backup-export-{key_version_id.rsplit('.', 1)[-1][:24]}-{stamp}.json"


def _write_export(output: Output, envelope: exportfile.ExportEnvelope, path: str | None, flag: str) -> int:
    path = path or _default_export_path(envelope.key_version_id)
    exportfile.write_export_file(path, envelope, flag)
    document = {"export_file": os.path.abspath(path), **envelope.describe()}
    text = [
        f"Exported key version {envelope.key_version_id}",
        f"  key {envelope.key_id} ({envelope.display_name}, {envelope.key_shape['algorithm']} "
        f"{envelope.key_shape['length']} bytes) in vault {envelope.vault_id}, {envelope.region}",
        f"  wrapped with {envelope.wrapping_algorithm} under the public key with SHA-256 {envelope.wrapping_public_key_sha256}",
        f"  written to {os.path.abspath(path)} (mode 0600)",
        *_fingerprint_lines(envelope),
    ]
    output.result(document, text)
    return EXIT_OK


# --- subcommands ---------------------------------------------------------------------------------

def cmd_sync(args: argparse.Namespace, output: Output) -> int:
    """Copy the keys of a job file."""
    job = load_job_file(args.job)
    report = run_job(job, build_factory(args))
    print_report(report, args.output, output.stdout)
    return EXIT_CODES[report.status]


def cmd_plan(args: argparse.Namespace, output: Output) -> int:
    """Show what a sync of a job file would copy, exporting and importing nothing."""
    job = load_job_file(args.job)
    job = parse_job({**job.to_dict(), "options": {**job.to_dict()["options"], "dry_run": True}})
    report = run_job(job, build_factory(args))
    print_report(report, args.output, output.stdout)
    return EXIT_CODES[report.status]


def cmd_export(args: argparse.Namespace, output: Output) -> int:
    """Export one key version under a user's RSA public key into a new export file."""
    if not args.key_id and not (args.key_name and args.compartment_id):
        raise InvalidInputError("--key-id", None, "missing; give --key-id, or --key-name with --compartment-id")
    public_key = pemfile.load_public_key(args.wrapping_public_key, "--wrapping-public-key")
    factory = build_factory(args)

    access = keyexport.VaultAccess(factory, args.region, args.vault_id)
    envelope = keyexport.export_key_version(
        access,
        key_id=args.key_id,
        key_name=args.key_name,
        compartment_id=args.compartment_id,
        key_version_id=args.key_version_id,
        wrapping_public_key=public_key,
        wrapping_algorithm=args.wrapping_algorithm,
    )
    return _write_export(output, envelope, args.output_file, "--output-file")


def cmd_inspect(args: argparse.Namespace, output: Output) -> int:
    """Describe an export file; with --private-key, recompute and compare its fingerprint."""
    envelope = exportfile.read_export_file(args.file)
    private_key = pemfile.load_private_key(args.private_key, "--private-key") if args.private_key else None

    result = keyexport.inspect_export(envelope, private_key)
    text = [f"Export file {args.file}"]
    text.extend(f"  {name}: {value}" for name, value in envelope.describe().items())
    if private_key is None:
        text.append("Give --private-key to recompute the fingerprint from the wrapped material.")
        output.result(result, text)
        return EXIT_OK

    computed = result["computed_fingerprint"]["value"]
    verdict = "matches" if result["fingerprint_matches"] else "DOES NOT MATCH"
    text.append(f"Recomputed fingerprint: {computed} ({verdict} the file)")
    output.result(result, text)
    return EXIT_OK if result["fingerprint_matches"] else EXIT_FAILED


def cmd_restore(args: argparse.Namespace, output: Output) -> int:
    """Import an export file into a vault, re-wrapped under that vault's wrapping key."""
    envelope = exportfile.read_export_file(args.file)
    private_key = pemfile.load_private_key(args.private_key, "--private-key")
    if not args.key_id and not args.compartment_id:
        raise InvalidInputError(
            "--compartment-id", None, "missing; a restored key is created in that compartment (or give --key-id to add a version)"
        )
    if args.key_id and not args.key_id.startswith("ocid1.key."):
        raise InvalidInputError("--key-id", args.key_id, "expected a key OCID starting with ocid1.key.")
    factory = build_factory(args)

    access = keyexport.VaultAccess(factory, args.region, args.vault_id)
    result = restore.restore_export(
        access,
        envelope,
        private_key,
        compartment_id=args.compartment_id,
        display_name=args.display_name,
        protection_mode=args.protection_mode,
        target_key_id=args.key_id,
    )
    text = [
        f"Restored key version {envelope.key_version_id}",
        f"  as key {result['key_id']}, version {result['key_version_id']}",
        f"  in vault {result['vault_id']}, {result['region']}",
        "  deep verify passed: the restored material has the fingerprint recorded in the file",
    ]
    output.result(result, text)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace, output: Output) -> int:
    """Re-check the existing copies of a job's keys, changing nothing."""
    job = load_job_file(args.job)
    result = recheck.recheck_copies(job, build_factory(args), deep=args.deep)
    text = [f"verify: {result['status']}{' (deep)' if result['deep_verify'] else ''}"]
    for key in result["keys"]:
        for target in key["targets"]:
            line = f"  {key['display_name'] or key['source_key_id']} in {target['target_region']}: {target['status']}"
            versions = target.get("versions", [])
            if versions:
                line += f", {sum(1 for v in versions if v['ok'])} of {len(versions)} version(s) match"
            if target.get("versions_not_copied_yet"):
                line += f", {len(target['versions_not_copied_yet'])} version(s) not copied yet"
            if target.get("reason"):
                line += f": {target['reason']}"
            text.append(line)
    output.result(result, text)
    return {"ok": EXIT_OK, "partial": EXIT_PARTIAL}.get(result["status"], EXIT_FAILED)


def cmd_doctor(args: argparse.Namespace, output: Output) -> int:
    """Check authentication and every vault of a job; with --canary or --probe, run the canary."""
    job = load_job_file(args.job)
    if args.canary or args.probe:
        return _run_canary(args, output, job)
    if args.deep:
        raise InvalidInputError("--deep", True, "only applies to the canary", "Add --canary, or leave --deep out.")
    checks = doctor.run_checks(build_factory(args), job)
    failed = [check for check in checks if not check["ok"]]
    text = [f"{'ok    ' if check['ok'] else 'FAILED'} {check['check']}: {check['detail']}" for check in checks]
    output.result({"status": "failed" if failed else "ok", "checks": checks}, text)
    return EXIT_FAILED if failed else EXIT_OK


def _run_canary(args: argparse.Namespace, output: Output, job: Job) -> int:
    output.progress("doctor canary: creating throwaway keys in the source vault; their deletion is "
                    "scheduled at the end, whatever the outcome")
    result = canary.run_canary(build_factory(args), job, probe=args.probe, deep_verify=True if args.deep else None)
    document = result.to_dict()
    output.result(document, canary_text(document))
    return EXIT_OK if result.passed else EXIT_FAILED


def canary_text(document: dict[str, Any]) -> list[str]:
    """Render a canary result as one line per step and probe, then the verdict."""
    text = [f"canary run {document['run_id']}"]
    for step in document["steps"]:
        permissions = ", ".join(step["permissions"]) or step["grant"]
        line = f"{step['outcome'].upper():7} {step['step']}: {step['operation']} [{permissions}] in {step['vault']}"
        if step.get("status") is not None:
            line += f": {step['status']} {step['code']} (opc-request-id {step['opc_request_id']})"
        if step["detail"]:
            line += f" - {step['detail']}"
        text.append(line)
    if document.get("probes"):
        text.append("probes (observed facts; the engine does not depend on them):")
        text.extend(f"  {probe['summary']}" for probe in document["probes"])
    text.append(f"verdict: {document['verdict']}")
    return text


# --- original script -----------------------------------------------------------------------------


def run_legacy(argv: list[str], output_format: str | None = None) -> int:
    """Run an invocation of the original ``kms_key_backup.py`` flags."""
    parser = argparse.ArgumentParser(
        prog="kms-key-backup", description="Original kms_key_backup.py flags: export one key version, or copy a key."
    )
    legacy.add_legacy_arguments(parser)
    _add_output_argument(parser)
    args = parser.parse_args(argv)
    output = Output(args.output)
    return _guarded(output, lambda: _run_legacy(args, output))


def _legacy_profile_auth(config: legacy.LegacyConfig, profile: str | None) -> tuple[dict[str, Any], Any]:
    return auth.load_auth(auth.API_KEY, config.ociconfig, profile)


def _run_legacy(args: argparse.Namespace, output: Output) -> int:
    config = legacy.merge_config(args)
    for line in config.ignored:
        output.progress(f"note: {line}")

    if config.exportonly:
        public_key = pemfile.load_public_key(config.wrapping_pubkey_file, "--wrapping_pubkey_file")
        oci_config, signer = _legacy_profile_auth(config, config.source_ociprofile)
        access = keyexport.VaultAccess(ClientFactory.from_environment(oci_config, signer), config.source_region, config.source_vault, "source_vault",
                                           "source_region")
        envelope = keyexport.export_key_version(
            access,
            key_id=config.source_key_ocid,
            key_name=config.source_keyname,
            compartment_id=config.source_compartment,
            key_version_id=config.source_key_version,
            wrapping_public_key=public_key,
            wrapping_algorithm=config.wrapping_algorithm,
        )
        return _write_export(output, envelope, config.outputfile, "--outputfile")

    return _run_legacy_copy(config, output)


def _signing_identity(config: dict[str, Any]) -> tuple:
    return tuple(config.get(name) for name in ("tenancy", "user", "fingerprint", "key_file", "key_content"))


def _run_legacy_copy(config: legacy.LegacyConfig, output: Output) -> int:
    """Copy the selected key with every version through the engine, as `sync` would."""
    source_config, source_signer = _legacy_profile_auth(config, config.source_ociprofile)
    target_profile = config.target_ociprofile or config.source_ociprofile
    target_config, _ = _legacy_profile_auth(config, target_profile)
    if _signing_identity(source_config) != _signing_identity(target_config):
        # NOTE: one run signs every call with one identity (the engine's ClientFactory takes one
        # config), so two profiles of different users or tenancies cannot be combined here.
        raise InvalidInputError(
            "target_ociprofile", target_profile,
            f"signs as another user or tenancy than source_ociprofile {config.source_ociprofile!r}; "
            "use one profile whose user may read the source vault and manage keys in the target vault",
        )
    try:
        job = parse_job(legacy.to_job(config))
    except InvalidInputError as exc:
        # Name the original config key, not the job field the user never wrote.
        key = legacy.config_key_of_job_field(exc.field)
        if exc.problem is None:
            raise InvalidInputError(key, exc.value, exc.fix) from None
        raise InvalidInputError(key, exc.value, exc.problem, exc.fix) from None
    report = run_job(job, ClientFactory.from_environment(source_config, source_signer))
    print_report(report, output.fmt, output.stdout)
    return EXIT_CODES[report.status]


# --- parser and entry point ----------------------------------------------------------------------

Handler = Callable[[argparse.Namespace, Output], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kms-key-backup",
        description="Copy OCI Vault software keys, with every version, to vaults in other regions.",
        epilog="Exit codes: 0 ok, 1 failed, 2 invalid input, 3 partial. "
        "Run with the original kms_key_backup.py flags (e.g. --configfile) to use that script's interface.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        auth.add_auth_arguments(sub)
        _add_output_argument(sub)
        sub.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="WARNING",
                         help="level of the log lines written to stderr (default WARNING)")
        sub.set_defaults(handler=handler)
        return sub

    sync = add("sync", cmd_sync, "copy the keys a job file selects")
    sync.add_argument("--job", required=True, help="JSON job file (see docs/job.md)")

    plan = add("plan", cmd_plan, "show what sync would copy, without exporting or importing")
    plan.add_argument("--job", required=True, help="JSON job file (see docs/job.md)")

    export = add("export", cmd_export, "export one key version into a file wrapped under your RSA public key")
    export.add_argument("--region", required=True, help="region of the vault, e.g. eu-frankfurt-1")
    export.add_argument("--vault-id", required=True, help="OCID of the vault")
    export.add_argument("--key-id", help="OCID of the key")
    export.add_argument("--key-name", help="display name of the key (with --compartment-id) when --key-id is not given")
    export.add_argument("--compartment-id", help="compartment to search for --key-name")
    export.add_argument("--key-version-id", help="key version to export (default: the current version)")
    export.add_argument("--wrapping-public-key", required=True, help="PEM file of an RSA 2048, 3072 or 4096-bit public key")
    export.add_argument(
        "--wrapping-algorithm", choices=keywrap.WRAPPING_ALGORITHMS, default=keywrap.RSA_OAEP_AES_SHA256,
        help="export wrapping algorithm (default RSA_OAEP_AES_SHA256)",
    )
    export.add_argument("--output-file", help="export file to create with mode 0600 (default: a new file in the current directory)")

    inspect = add("inspect", cmd_inspect, "describe an export file and, with --private-key, recompute its fingerprint")
    inspect.add_argument("file", metavar="FILE", help="export file written by export or --exportonly")
    inspect.add_argument("--private-key", help="PEM file of the RSA private key the export was wrapped for")

    restore_parser = add("restore", cmd_restore, "import an export file into a vault and deep-verify it")
    restore_parser.add_argument("file", metavar="FILE", help="export file written by export or --exportonly")
    restore_parser.add_argument("--private-key", required=True, help="PEM file of the RSA private key the export was wrapped for")
    restore_parser.add_argument("--region", required=True, help="region of the vault to restore into")
    restore_parser.add_argument("--vault-id", required=True, help="OCID of the vault to restore into")
    restore_parser.add_argument("--compartment-id", help="compartment of the new key")
    restore_parser.add_argument("--display-name", help="display name of the new key (default: the exported key's)")
    restore_parser.add_argument("--protection-mode", choices=("SOFTWARE", "HSM"), default="SOFTWARE", help="protection mode of the new key (default SOFTWARE)")
    restore_parser.add_argument("--key-id", help="add the material as a new version of this key instead of creating a key")

    verify = add("verify", cmd_verify, "re-check the existing copies of a job's keys; change nothing")
    verify.add_argument("--job", required=True, help="job JSON file (see docs/job.md)")
    verify.add_argument("--deep", action="store_true",
                        help="also export both sides under a throwaway in-memory key and compare material digests")

    doctor_parser = add("doctor", cmd_doctor, "check authentication, vaults and permissions of a job; change "
                        "nothing unless --canary or --probe is given")
    doctor_parser.add_argument("--job", required=True, help="job JSON file (see docs/job.md)")
    doctor_parser.add_argument(
        "--canary", action="store_true",
        help="create throwaway keys in the source vault, copy them to every target, verify, then schedule "
             "their deletion (7 days); see docs/live-verification.md")
    doctor_parser.add_argument(
        "--probe", action="store_true",
        help="run the canary and also report undocumented OCI behaviours observed on its throwaway keys")
    doctor_parser.add_argument(
        "--deep", action="store_true",
        help="with --canary: also compare key material digests of source and copies (needs KEY_EXPORT in the targets)")

    return parser


def _guarded(output: Output, run: Callable[[], int]) -> int:
    """Run a command and map its exceptions to an error message and an exit code."""
    try:
        return run()
    except InvalidInputError as exc:
        output.error(str(exc), {"type": "invalid_input", "field": exc.field, "value": _printable(exc.value), "fix": exc.fix})
        return EXIT_INVALID_INPUT
    except keywrap.UnwrapError as exc:
        output.error(str(exc), {"type": "unwrap_failed", "message": str(exc)})
        return EXIT_FAILED
    except KmsBackupError as exc:
        output.error(str(exc), {"type": type(exc).__name__, "message": str(exc)})
        return EXIT_FAILED
    except oci.exceptions.ServiceError as exc:
        message = f"{exc.operation_name or 'OCI call'} failed: {exc.status} {exc.code}: {exc.message} (opc-request-id {exc.request_id})"
        output.error(message, {"type": "service_error", "status": exc.status, "code": exc.code,
                               "message": exc.message, "opc_request_id": exc.request_id})
        return EXIT_FAILED
    except oci.exceptions.MaximumWaitTimeExceeded as exc:
        output.error(f"timed out waiting for the vault: {exc}", {"type": "timeout", "message": str(exc)})
        return EXIT_FAILED


def _printable(value: Any) -> Any:
    return value if value is None or isinstance(value, (str, int, float, bool, list, dict)) else str(value)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if legacy.is_legacy_invocation(argv):
        return run_legacy(argv)

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    output = Output(args.output)
    return _guarded(output, lambda: args.handler(args, output))


if __name__ == "__main__":
    sys.exit(main())
