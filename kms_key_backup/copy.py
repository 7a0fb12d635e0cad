"""Copy one source key into one target vault: export under the target's wrapping key, import unchanged.

The wrapped blob that ``export_key`` returns lives only in a local variable until
``import_key`` or ``import_key_version`` has sent it. It is never logged or returned, and it is
removed from the ServiceError of a failed import. Versions are copied oldest first, so the
copy's current version is the copy of the newest version copied.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import oci
from oci.key_management.models import (ExportKeyDetails, ImportKeyDetails, ImportKeyVersionDetails, KeyShape,
                                       UpdateKeyDetails, WrappedImportKey)

from kms_key_backup.clients import ClientFactory, VaultRecord, service_failure
from kms_key_backup.errors import KmsBackupError, ServiceFailure
from kms_key_backup.inventory import LIST_PAGE_LIMIT, SourceKey, list_all
from kms_key_backup.job import Job, Target
from kms_key_backup.plan import (TAG_COPIED_VERSIONS, CopiedVersions, SourceVersion, copy_tags,
                                 parse_copied_versions, plan_versions, retry_token)
from kms_key_backup.report import CREATE, IMPORT_VERSIONS, NOTHING, TargetResult, VersionResult
from kms_key_backup.verify import (DEEP_DIGEST_EQUAL, IMPORT_INTEGRITY, RSA_PUBLIC_KEY_EQUAL, EphemeralWrappingKey,
                                   digests_equal, public_keys_equal)

LOG = logging.getLogger(__name__)

# Lifecycle transitions take about 50 ms on the emulator and seconds on OCI. oci.wait_until
# (SDK 2.189.0) always sleeps one second before its first poll, so a few short polls come first
# and oci.wait_until handles the long tail.
FIRST_POLL_SECONDS = 0.06
QUICK_POLL_LIMIT_SECONDS = 0.8
MAX_POLL_INTERVAL_SECONDS = 5
MAX_WAIT_SECONDS = 600
FAILED_STATES = ("DISABLED", "DELETED", "DELETING", "PENDING_DELETION", "SCHEDULING_DELETION")

# Defined tags of this namespace are set by OCI itself on every resource.
ORACLE_TAG_NAMESPACE = "Oracle-Tags"


@dataclass(frozen=True)
class TargetVersion:
    """A version of a copy, as verification needs it."""

    id: str
    public_key: str | None  # PEM, for RSA versions only


@dataclass
class RunContext:
    """Settings and services shared by every copy of a run."""

    job: Job
    factory: ClientFactory
    run_id: str
    source_vault: VaultRecord
    deadline: float | None = None  # a time.monotonic() value
    warn: Callable[[str], None] = lambda message: None
    ephemeral_key: EphemeralWrappingKey = field(default_factory=EphemeralWrappingKey)
    longest_version_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def deadline_reached(self) -> bool:
        """Tell whether a version started now could end after the deadline.

        The estimate is the longest version copy of this run so far, so the first version of a
        run starts whenever the deadline has not passed.
        """
        if self.deadline is None:
            return False
        with self._lock:
            estimate = self.longest_version_seconds
        return time.monotonic() + estimate >= self.deadline

    def record_version_seconds(self, seconds: float) -> None:
        with self._lock:
            self.longest_version_seconds = max(self.longest_version_seconds, seconds)

    def log_extra(self, step: str, **fields) -> dict:
        return {"run_id": self.run_id, "step": step, **fields}


def wait_for_state(client, response, fetch: Callable[[], oci.response.Response], states: tuple[str, ...]):
    """Poll a key or key version until its lifecycle state is one of ``states``; return the last response."""
    delay = FIRST_POLL_SECONDS
    while response.data.lifecycle_state not in states and delay < QUICK_POLL_LIMIT_SECONDS:
        time.sleep(delay)
        response = fetch()
        delay *= 2
    if response.data.lifecycle_state not in states:
        response = oci.wait_until(
            client, response,
            evaluate_response=lambda r: r.data.lifecycle_state in states,
            fetch_func=lambda response=None: fetch(),
            max_interval_seconds=MAX_POLL_INTERVAL_SECONDS, max_wait_seconds=MAX_WAIT_SECONDS)
    return response


def wait_until_enabled(client, response, fetch: Callable[[], oci.response.Response], what: str):
    """Poll a key or key version until it is ENABLED; return the last response.

    Raises ``KmsBackupError`` when it ends in a disabled or deleted state instead.
    """
    response = wait_for_state(client, response, fetch, ("ENABLED", *FAILED_STATES))
    if response.data.lifecycle_state != "ENABLED":
        raise KmsBackupError(f"{what} ended {response.data.lifecycle_state} instead of ENABLED")
    return response


class SourceVersions:
    """The versions of one source key, listed once and shared by every target."""

    def __init__(self, ctx: RunContext, key: SourceKey):
        self._ctx = ctx
        self._key = key
        self._versions: list[SourceVersion] | None = None
        self._public_keys: dict[str, str | None] = {}

    def all(self) -> list[SourceVersion]:
        if self._versions is None:
            management = self._ctx.factory.management_client(self._ctx.source_vault)
            try:
                summaries = list_all(management.list_key_versions, self._key.id, limit=LIST_PAGE_LIMIT)
            except oci.exceptions.ServiceError as exc:
                raise service_failure("list_key_versions", self._key.id, exc) from exc
            self._versions = [SourceVersion(s.id, s.lifecycle_state, s.time_created) for s in summaries]
        return self._versions

    def public_key(self, key_version_id: str) -> str | None:
        if key_version_id not in self._public_keys:
            management = self._ctx.factory.management_client(self._ctx.source_vault)
            try:
                version = management.get_key_version(self._key.id, key_version_id).data
            except oci.exceptions.ServiceError as exc:
                raise service_failure("get_key_version", key_version_id, exc) from exc
            self._public_keys[key_version_id] = version.public_key
        return self._public_keys[key_version_id]


class TargetCopier:
    """Bring the copy of one source key in one target vault up to date."""

    def __init__(self, ctx: RunContext, key: SourceKey, versions: SourceVersions, target: Target,
                 target_vault: VaultRecord, wrapping_public_key: str):
        self.ctx = ctx
        self.key = key
        self.versions = versions
        self.target = target
        self.target_vault = target_vault
        self.wrapping_public_key = wrapping_public_key
        self.management = ctx.factory.management_client(target_vault)
        self.result = TargetResult(target_region=target.region, target_vault_id=target.vault_id, action=NOTHING)

    # --- planning --------------------------------------------------------------------------------

    def run(self, existing: list) -> TargetResult:
        try:
            self._run(existing)
        except ServiceFailure as exc:
            self.result.error = exc.to_dict()
            LOG.error("copy of %s to %s failed: %s", self.key.id, self.target.vault_id, exc,
                      extra=self.ctx.log_extra("copy", key_id=self.key.id, target_vault_id=self.target.vault_id,
                                               opc_request_id=exc.opc_request_id))
        except KmsBackupError as exc:
            self.result.error = {"message": str(exc)}
            LOG.error("copy of %s to %s failed: %s", self.key.id, self.target.vault_id, exc,
                      extra=self.ctx.log_extra("copy", key_id=self.key.id, target_vault_id=self.target.vault_id))
        return self.result

    def _run(self, existing: list) -> None:
        job = self.ctx.job
        if len(existing) > 1:
            ids = ", ".join(sorted(copy.id for copy in existing))
            raise KmsBackupError(f"the target vault contains {len(existing)} copies of this key ({ids}); "
                                 "schedule deletion of all but one, then run again")

        copy_summary = existing[0] if existing else None
        copied = None
        if copy_summary is not None:
            self.result.target_key_id = copy_summary.id
            copied = parse_copied_versions((copy_summary.freeform_tags or {}).get(TAG_COPIED_VERSIONS))
            if copied is None:
                raise KmsBackupError(f"the copy {copy_summary.id} lacks a valid {TAG_COPIED_VERSIONS} tag; "
                                     "restore the tag or schedule deletion of the copy, then run again")
            if copy_summary.lifecycle_state in ("CREATING", "ENABLING"):
                # An overlapping run of the same job has just imported this copy. It becomes
                # ENABLED on its own, so the run waits for it instead of failing the key.
                wait_until_enabled(self.management, self.management.get_key(copy_summary.id),
                                   lambda: self.management.get_key(copy_summary.id), f"copy {copy_summary.id}")
            elif copy_summary.lifecycle_state != "ENABLED":
                raise KmsBackupError(f"the copy {copy_summary.id} is {copy_summary.lifecycle_state}; "
                                     "enable it, then run again")
            # A copy whose last copied version is the source's current one is up to date: no
            # version listing is needed, which keeps a sweep with nothing new cheap.
            if job.versions.mode != "explicit" and copied.last_source_key_version_id == self.key.current_key_version:
                self.result.action = NOTHING
                self.result.versions_already_copied = copied.count
                return

        try:
            plan = plan_versions(self.versions.all(), self.key.current_key_version, job.versions.mode,
                                 job.versions.version_ids, copied)
        except LookupError as exc:
            raise KmsBackupError(f"{exc}; the copy {copy_summary.id} cannot be extended in order") from None
        self.result.versions_skipped = plan.skipped
        self.result.versions_already_copied = plan.already_copied
        to_copy = plan.to_copy

        if copy_summary is not None and to_copy:
            recovered = self._recover_unrecorded_imports(copy_summary.id, copied, to_copy)
            self.result.versions_copied.extend(recovered)
            to_copy = to_copy[len(recovered):]

        if copy_summary is None:
            self.result.action = CREATE if to_copy else NOTHING
        else:
            self.result.action = IMPORT_VERSIONS if (to_copy or self.result.versions_copied) else NOTHING

        if job.options.dry_run:
            self.result.versions_planned = list(to_copy)
            return

        if copy_summary is None and not to_copy:
            return
        self._copy(copy_summary, copied, to_copy)

    def _recover_unrecorded_imports(self, target_key_id: str, copied: CopiedVersions,
                                    to_copy: list[str]) -> list[VersionResult]:
        """Find versions an interrupted run imported but did not record in the tag.

        The target versions beyond the tag's count are copies of the first planned versions,
        in order, so they are recorded instead of imported again.
        """
        try:
            target_versions = list_all(self.management.list_key_versions, target_key_id, limit=LIST_PAGE_LIMIT)
        except oci.exceptions.ServiceError as exc:
            raise service_failure("list_key_versions", target_key_id, exc) from exc
        target_versions.sort(key=lambda v: (v.time_created, v.id))
        extra = len(target_versions) - copied.count
        if extra < 0 or extra > len(to_copy):
            raise KmsBackupError(
                f"the copy {target_key_id} contains {len(target_versions)} versions but its tag records "
                f"{copied.count} copied; versions were added or deleted outside kms-key-backup, so the "
                "mapping is unknown: schedule deletion of the copy and run again")
        recovered = []
        for index in range(extra):
            target_version = target_versions[copied.count + index]
            result = VersionResult(source_key_version_id=to_copy[index], target_key_version_id=target_version.id,
                                   recovered=True)
            self._verify(result, target_key_id, None)
            recovered.append(result)
            LOG.info("recorded version %s imported by an interrupted run", target_version.id,
                     extra=self.ctx.log_extra("copy", key_id=self.key.id, key_version_id=to_copy[index],
                                              target_key_version_id=target_version.id))
        return recovered

    # --- copying ---------------------------------------------------------------------------------

    def _copy(self, copy_summary, copied: CopiedVersions | None, to_copy: list[str]) -> None:
        count = (copied.count if copied else 0) + len(self.result.versions_copied)
        last = self.result.versions_copied[-1].source_key_version_id if self.result.versions_copied else (
            copied.last_source_key_version_id if copied else None)
        tags_dirty = bool(self.result.versions_copied)
        target_key_id = copy_summary.id if copy_summary is not None else None
        current_tags = dict(copy_summary.freeform_tags or {}) if copy_summary is not None else {}

        try:
            for index, source_version_id in enumerate(to_copy):
                if self.ctx.deadline_reached():
                    self.result.versions_left = list(to_copy[index:])
                    LOG.info("deadline reached; %d version(s) of %s left", len(to_copy) - index, self.key.id,
                             extra=self.ctx.log_extra("copy", key_id=self.key.id))
                    break
                started = time.monotonic()
                if target_key_id is None:
                    target_key_id, target_version_response = self._create(source_version_id)
                    self.result.target_key_id = target_key_id
                else:
                    target_version_response = self._import_version(target_key_id, source_version_id)
                    tags_dirty = True
                count += 1
                last = source_version_id
                result = VersionResult(source_key_version_id=source_version_id,
                                       target_key_version_id=target_version_response.id)
                self._verify(result, target_key_id, target_version_response.public_key)
                self.result.versions_copied.append(result)
                self.ctx.record_version_seconds(time.monotonic() - started)
        finally:
            if tags_dirty and target_key_id is not None:
                self._record(target_key_id, current_tags, CopiedVersions(count, last))

    def _export(self, source_version_id: str) -> str:
        crypto = self.ctx.factory.crypto_client(self.ctx.source_vault)
        details = ExportKeyDetails(key_id=self.key.id, key_version_id=source_version_id,
                                   algorithm=self.ctx.job.options.wrapping_algorithm,
                                   public_key=self.wrapping_public_key)
        started = time.monotonic()
        try:
            response = crypto.export_key(details)
        except oci.exceptions.ServiceError as exc:
            raise service_failure("export_key", source_version_id, exc) from exc
        LOG.info("exported %s", source_version_id, extra=self.ctx.log_extra(
            "export", key_id=self.key.id, key_version_id=source_version_id,
            opc_request_id=response.headers.get("opc-request-id"),
            duration_ms=round((time.monotonic() - started) * 1000, 1)))
        return response.data.encrypted_key

    def _wrapped(self, encrypted_key: str) -> WrappedImportKey:
        return WrappedImportKey(key_material=encrypted_key,
                                wrapping_algorithm=self.ctx.job.options.wrapping_algorithm)

    def _create(self, source_version_id: str):
        """Create the copy from its first version; return the new key OCID and its first version."""
        job = self.ctx.job
        tags = copy_tags(job, self.key.id, self.key.freeform_tags, CopiedVersions(1, source_version_id))
        defined_tags = {namespace: values for namespace, values in (self.key.defined_tags or {}).items()
                        if namespace != ORACLE_TAG_NAMESPACE}
        display_name = self.target.display_name_for(self.key.display_name, self.key.id, job.source)
        token = retry_token(self.target.vault_id, source_version_id)

        def details(with_defined_tags: bool) -> ImportKeyDetails:
            return ImportKeyDetails(
                compartment_id=self.target.compartment_id, display_name=display_name,
                key_shape=KeyShape(algorithm=self.key.algorithm, length=self.key.length, curve_id=self.key.curve_id),
                protection_mode=self.target.protection_mode, freeform_tags=tags,
                defined_tags=defined_tags if with_defined_tags else None,
                is_auto_rotation_enabled=False, wrapped_import_key=self._wrapped(encrypted_key))

        encrypted_key = self._export(source_version_id)
        started = time.monotonic()
        try:
            try:
                response = self.management.import_key(details(bool(defined_tags)), opc_retry_token=token)
            except oci.exceptions.ServiceError as exc:
                if not (defined_tags and exc.status == 400):
                    raise
                # The target may lack the tag namespaces of the source (another tenancy), so the
                # copy is made without defined tags. The body differs, so the token must too.
                self._warn(f"the target rejected the defined tags of {self.key.id} ({exc.code}); "
                                 "the copy has freeform tags only")
                response = self.management.import_key(details(False), opc_retry_token=retry_token(
                    self.target.vault_id, source_version_id + "\nwithout-defined-tags"))
        except oci.exceptions.ServiceError as exc:
            exc.original_request = None  # the request body contains the wrapped blob
            raise service_failure("import_key", self.key.id, exc) from exc
        finally:
            del encrypted_key

        target_key_id = response.data.id
        LOG.info("created copy %s of %s", target_key_id, self.key.id, extra=self.ctx.log_extra(
            "import", key_id=self.key.id, key_version_id=source_version_id, target_key_id=target_key_id,
            opc_request_id=response.headers.get("opc-request-id"),
            duration_ms=round((time.monotonic() - started) * 1000, 1)))

        key = self._wait(lambda: self.management.get_key(target_key_id), response, f"copy {target_key_id}").data
        if self.key.algorithm != "RSA":
            # The first version of an ENABLED key is ENABLED, and only RSA verification needs the
            # version's public key, so an AES copy needs no version read.
            return target_key_id, TargetVersion(key.current_key_version, None)
        target_version_id = key.current_key_version
        try:
            version_response = self.management.get_key_version(target_key_id, target_version_id)
        except oci.exceptions.ServiceError as exc:
            raise service_failure("get_key_version", target_version_id, exc) from exc
        version = self._wait(lambda: self.management.get_key_version(target_key_id, target_version_id),
                             version_response, f"version {target_version_id}").data
        return target_key_id, TargetVersion(version.id, version.public_key)

    def _warn(self, message: str) -> None:
        LOG.warning(message, extra=self.ctx.log_extra("import", key_id=self.key.id))
        self.ctx.warn(message)

    def _import_version(self, target_key_id: str, source_version_id: str):
        """Import one more version into the copy; return the new target version once ENABLED."""
        token = retry_token(self.target.vault_id, source_version_id)
        encrypted_key = self._export(source_version_id)
        started = time.monotonic()
        try:
            response = self.management.import_key_version(
                target_key_id, ImportKeyVersionDetails(wrapped_import_key=self._wrapped(encrypted_key)),
                opc_retry_token=token)
        except oci.exceptions.ServiceError as exc:
            exc.original_request = None  # the request body contains the wrapped blob
            raise service_failure("import_key_version", target_key_id, exc) from exc
        finally:
            del encrypted_key
        LOG.info("imported version %s into %s", response.data.id, target_key_id, extra=self.ctx.log_extra(
            "import", key_id=self.key.id, key_version_id=source_version_id, target_key_id=target_key_id,
            target_key_version_id=response.data.id, opc_request_id=response.headers.get("opc-request-id"),
            duration_ms=round((time.monotonic() - started) * 1000, 1)))
        version_id = response.data.id
        return self._wait(lambda: self.management.get_key_version(target_key_id, version_id), response,
                          f"version {version_id}").data

    def _wait(self, fetch, response, what: str):
        def guarded_fetch():
            try:
                return fetch()
            except oci.exceptions.ServiceError as exc:
                raise service_failure("wait", what, exc) from exc
        return wait_until_enabled(self.management, response, guarded_fetch, what)

    def _record(self, target_key_id: str, current_tags: dict, copied: CopiedVersions) -> None:
        """Write the copied-versions tag, with the source's tags and the provenance tags."""
        tags = {**current_tags, **copy_tags(self.ctx.job, self.key.id, self.key.freeform_tags, copied)}
        try:
            response = self.management.update_key(target_key_id, UpdateKeyDetails(freeform_tags=tags))
        except oci.exceptions.ServiceError as exc:
            raise service_failure("update_key", target_key_id, exc) from exc
        LOG.info("recorded %d copied version(s) on %s", copied.count, target_key_id, extra=self.ctx.log_extra(
            "record", key_id=self.key.id, target_key_id=target_key_id,
            opc_request_id=response.headers.get("opc-request-id")))

    # --- verification ----------------------------------------------------------------------------

    def _verify(self, result: VersionResult, target_key_id: str, target_public_key: str | None) -> None:
        if self.key.algorithm == "RSA":
            if target_public_key is None:
                try:
                    target_public_key = self.management.get_key_version(
                        target_key_id, result.target_key_version_id).data.public_key
                except oci.exceptions.ServiceError as exc:
                    raise service_failure("get_key_version", result.target_key_version_id, exc) from exc
            result.verification = RSA_PUBLIC_KEY_EQUAL
            result.verified = public_keys_equal(self.versions.public_key(result.source_key_version_id),
                                                target_public_key)
        else:
            result.verification = IMPORT_INTEGRITY
            result.verified = True
        if result.verified is False:
            result.detail = "the public keys of the source version and of its copy differ"
            LOG.error("verification of %s failed", result.target_key_version_id, extra=self.ctx.log_extra(
                "verify", key_id=self.key.id, key_version_id=result.source_key_version_id))
            return
        if self.ctx.job.options.deep_verify:
            self._deep_verify(result, target_key_id)

    def _deep_verify(self, result: VersionResult, target_key_id: str) -> None:
        if self.target.protection_mode == "HSM":
            result.detail = "deep verify skipped: HSM-protected copies cannot be exported"
            return
        ephemeral = self.ctx.ephemeral_key
        algorithm = "RSA_OAEP_AES_SHA256"
        source_crypto = self.ctx.factory.crypto_client(self.ctx.source_vault)
        target_crypto = self.ctx.factory.crypto_client(self.target_vault)
        try:
            source_export = source_crypto.export_key(ExportKeyDetails(
                key_id=self.key.id, key_version_id=result.source_key_version_id, algorithm=algorithm,
                public_key=ephemeral.public_pem())).data.encrypted_key
            target_export = target_crypto.export_key(ExportKeyDetails(
                key_id=target_key_id, key_version_id=result.target_key_version_id, algorithm=algorithm,
                public_key=ephemeral.public_pem())).data.encrypted_key
        except oci.exceptions.ServiceError as exc:
            raise service_failure("export_key", result.target_key_version_id, exc) from exc
        try:
            equal = digests_equal(ephemeral.material_digest(source_export, algorithm),
                                  ephemeral.material_digest(target_export, algorithm))
        except ValueError as exc:
            equal = False
            result.detail = str(exc)
        finally:
            del source_export, target_export
        result.verification = DEEP_DIGEST_EQUAL
        result.verified = equal
        if not equal and not result.detail:
            result.detail = "the key material of the source version and of its copy differ"
