"""The ``kms-key-backup`` command: an argparse dispatcher with one function per subcommand.

Exit codes: 0 ok, 1 failed, 2 invalid input, 3 partial (some keys or versions not copied).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, Callable

import oci

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


def load_oci_config(args: argparse.Namespace) -> tuple[dict, Any]:
    """Return the oci config and signer selected by ``--config-file`` and ``--profile`` (API key auth)."""
    config_file = getattr(args, "config_file", None) or oci.config.DEFAULT_LOCATION
    profile = getattr(args, "profile", None) or oci.config.DEFAULT_PROFILE
    try:
        config = oci.config.from_file(os.path.expanduser(config_file), profile)
    except oci.exceptions.ConfigFileNotFound:
        raise InvalidInputError("--config-file", config_file, "the file does not exist",
                                "Give the path of an OCI CLI config file, or run 'oci setup config'.") from None
    except oci.exceptions.ProfileNotFound:
        raise InvalidInputError("--profile", profile, f"no such profile in {config_file}",
                                "Give a profile name from the config file.") from None
    except (oci.exceptions.InvalidConfig, oci.exceptions.InvalidKeyFilePath) as exc:
        raise InvalidInputError("--config-file", config_file, f"the profile {profile} is invalid ({exc})",
                                "Fix the profile's user, tenancy, fingerprint and key_file.") from None
    return config, None


def build_factory(args: argparse.Namespace) -> ClientFactory:
    """Build the ClientFactory for the authentication options of a command."""
    config, signer = load_oci_config(args)
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


# --- subcommands ---------------------------------------------------------------------------------

def cmd_sync(args: argparse.Namespace) -> int:
    """Copy the keys of a job file."""
    job = load_job_file(args.job)
    report = run_job(job, build_factory(args))
    print_report(report, args.output)
    return EXIT_CODES[report.status]


def cmd_plan(args: argparse.Namespace) -> int:
    """Show what a sync of a job file would copy, exporting and importing nothing."""
    job = load_job_file(args.job)
    job = parse_job({**job.to_dict(), "options": {**job.to_dict()["options"], "dry_run": True}})
    report = run_job(job, build_factory(args))
    print_report(report, args.output)
    return EXIT_CODES[report.status]


# --- parser and entry point ----------------------------------------------------------------------

def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config-file", help="OCI config file (default ~/.oci/config)")
    parser.add_argument("--profile", help="profile of the OCI config file (default DEFAULT)")
    parser.add_argument("--output", choices=("text", "json"), default="text",
                        help="text for people (default) or the JSON run report for machines")
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default="WARNING",
                        help="level of the log lines written to stderr (default WARNING)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kms-key-backup",
        description="Copy OCI Vault software keys, with every version, to vaults in other regions.",
        epilog="Exit codes: 0 ok, 1 failed, 2 invalid input, 3 partial.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")

    sync = subparsers.add_parser("sync", help="copy the keys a job file selects")
    sync.add_argument("--job", required=True, help="JSON job file (see docs/job.md)")
    add_common_arguments(sync)
    sync.set_defaults(handler=cmd_sync)

    plan = subparsers.add_parser("plan", help="show what sync would copy, without exporting or importing")
    plan.add_argument("--job", required=True, help="JSON job file (see docs/job.md)")
    add_common_arguments(plan)
    plan.set_defaults(handler=cmd_plan)
    return parser


def run_guarded(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a subcommand and turn the tool's own errors into exit codes."""
    try:
        return handler(args)
    except InvalidInputError as exc:
        print(f"kms-key-backup: error: {exc}", file=sys.stderr)
        return EXIT_INVALID_INPUT
    except KmsBackupError as exc:
        print(f"kms-key-backup: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_INVALID_INPUT
    logging.basicConfig(level=getattr(args, "log_level", "WARNING"), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_guarded(args.handler, args)


if __name__ == "__main__":
    sys.exit(main())
