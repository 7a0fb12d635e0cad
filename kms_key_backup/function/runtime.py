"""One invocation of the function, and the state a container keeps between invocations.

OCI Functions keeps a container warm between invocations, so the configuration, the resource
principal signer and the client factory (with its clients, vault records and wrapping keys) are
built on the first call and reused. Each call then:

1. reads the configuration (an error names the variable) and the body (an error names the field),
2. turns the body into a job under the payload authority rules, or an event into one key,
3. runs the job until the invocation deadline less a margin,
4. posts metrics (failures logged, never fatal) and returns the JSON run report.

Bad input is rejected in steps 1 and 2, before any API call.
"""

import datetime
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

import oci

from kms_key_backup import canary, logs
from kms_key_backup.clients import ClientFactory
from kms_key_backup.engine import run_job
from kms_key_backup.errors import InvalidInputError, KmsBackupError, PreflightError
from kms_key_backup.function import events
from kms_key_backup.function.authority import apply_payload, payload_error
from kms_key_backup.function.config import ALLOW_CANARY, FunctionConfig, load_config
from kms_key_backup.function.payload import (TRIGGER_CANARY, TRIGGER_EVENT, TRIGGER_PAYLOAD, Invocation,
                                             parse_invocation)
from kms_key_backup.job import Job, parse_job
from kms_key_backup.report import Report
from kms_key_backup.metrics import post_run_metrics, run_metrics_from_report

logger = logging.getLogger("kms_key_backup.function")

STATUS_INVALID_INPUT = "invalid_input"
STATUS_FAILED = "failed"

# fdk passes only 200, 502 and 504 on to the caller (fdk 0.1.128, constants.py); 502 marks a
# failed invocation in OCI Functions' metrics, so a failed or rejected run is reported with it.
HTTP_STATUS = {"ok": 200, "partial": 200, STATUS_FAILED: 502, STATUS_INVALID_INPUT: 502}

# fdk's own default when no Fn-Deadline header arrives (fdk 0.1.128, constants.DEFAULT_DEADLINE).
DEFAULT_DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class InvocationResult:
    """The HTTP status and JSON document that ``func.py`` returns for one call."""

    status_code: int
    document: dict[str, Any]


def deadline_from_header(deadline_text: str | None, margin_seconds: float, *,
                         wall_now: float | None = None,
                         monotonic_now: float | None = None) -> tuple[float, float]:
    """Turn fdk's RFC 3339 deadline into a ``time.monotonic()`` deadline for the engine.

    Returns ``(engine_deadline, seconds_left)``: ``engine_deadline`` is ``margin_seconds`` before
    the invocation deadline, so the engine stops starting work in time to report. An unparsable
    header falls back to fdk's 30 s default.
    """
    wall_now = time.time() if wall_now is None else wall_now
    monotonic_now = time.monotonic() if monotonic_now is None else monotonic_now

    seconds_left = DEFAULT_DEADLINE_SECONDS
    if deadline_text:
        try:
            deadline = datetime.datetime.fromisoformat(deadline_text)
        except ValueError:
            logger.warning("invalid Fn-Deadline header, using the default",
                           extra={"fn_deadline": deadline_text,
                                  "default_seconds": DEFAULT_DEADLINE_SECONDS})
        else:
            if deadline.tzinfo is None:
                deadline = deadline.replace(tzinfo=datetime.timezone.utc)
            seconds_left = deadline.timestamp() - wall_now
    return monotonic_now + seconds_left - margin_seconds, seconds_left


class FunctionRuntime:
    """Per-container state: the configuration, signer and client factory, built once."""

    def __init__(self, environ: Mapping[str, str], factory: ClientFactory | None = None):
        self._environ = environ
        self._lock = threading.Lock()
        self._config: FunctionConfig | None = None
        self._config_error: InvalidInputError | None = None
        self._factory = factory
        # The thread of a run that was still going when its invocation returned (see _run_until).
        self._unfinished_worker: threading.Thread | None = None

    def config(self) -> FunctionConfig:
        """Return the configuration, read on the first call; re-raise its error on every call."""
        with self._lock:
            if self._config is None and self._config_error is None:
                try:
                    self._config = load_config(self._environ)
                except InvalidInputError as error:
                    self._config_error = error
            if self._config_error is not None:
                raise self._config_error
            return self._config

    def factory(self, config: FunctionConfig) -> ClientFactory:
        """Return the client factory, signing as the function's resource principal."""
        with self._lock:
            if self._factory is None:
                # Resource principal version 2.2, which OCI Functions sets, reads the session
                # token and private key from the environment or the files it names, and makes
                # no network call. The one signer serves every region.
                try:
                    signer = oci.auth.signers.get_resource_principals_signer()
                except (OSError, ValueError, TypeError) as exc:
                    raise PreflightError(
                        f"the resource principal signer could not be built ({exc}); OCI "
                        "Functions sets OCI_RESOURCE_PRINCIPAL_VERSION=2.2 and the "
                        "OCI_RESOURCE_PRINCIPAL_RPST, _PRIVATE_PEM and _REGION variables, so "
                        "check that the function runs in OCI Functions, or set them for a "
                        "local run") from exc
                self._factory = ClientFactory(
                    {"region": config.job.source.region},
                    signer=signer,
                    kms_endpoint_template=config.kms_endpoint_template,
                    telemetry_endpoint_template=config.telemetry_endpoint_template,
                )
            return self._factory

    def invoke(self, body: bytes, call_id: str | None, deadline_text: str | None) -> InvocationResult:
        """Handle one call and return its result; every error becomes a failed or invalid-input result."""
        started = time.monotonic()
        run_id = uuid.uuid4().hex
        logs.clear_fields()
        logs.bind_fields(call_id=call_id, run_id=run_id)

        try:
            config = self.config()
        except InvalidInputError as error:
            logs.configure_logging()
            logger.error("invalid function configuration", extra={"field": error.field,
                                                                   "error": str(error)})
            return _invalid_result(error, call_id, run_id, None)

        logs.configure_logging(config.log_level)
        if config.unknown_variables:
            logger.warning("unknown configuration variables are ignored",
                           extra={"variables": list(config.unknown_variables)})

        try:
            invocation = parse_invocation(body)
        except InvalidInputError as error:
            logger.error("invalid invocation payload", extra={"field": error.field,
                                                              "error": str(error)})
            return _invalid_result(error, call_id, run_id, None)

        if invocation.trigger == TRIGGER_CANARY and not config.allow_canary:
            error = InvalidInputError(
                "payload.trigger", "canary",
                "the canary creates, rotates and schedules deletion of throwaway keys, which this "
                "function is not configured to do",
                f"Set {ALLOW_CANARY}=true in the function configuration (and grant the canary's "
                "permissions, e.g. the Terraform module's enable_canary), or run "
                "`kms-key-backup doctor --canary` from a workstation.")
            logger.error("invalid invocation payload", extra={"field": error.field,
                                                              "error": str(error)})
            return _invalid_result(error, call_id, run_id, invocation.trigger)

        logs.bind_fields(trigger=invocation.trigger)
        started_fields: dict[str, Any] = {"payload_bytes": len(body)}
        if config.log_payload:
            started_fields["payload"] = body.decode("utf-8", errors="replace")
        logger.info("invocation started", extra=started_fields)

        engine_deadline, seconds_left = deadline_from_header(
            deadline_text, config.deadline_margin_seconds)
        # The engine stops starting keys and versions at engine_deadline, but calls already under
        # way (with their retries and lifecycle polls) can outlast the margin on a slow or loaded
        # host. The response is therefore sent at half the margin before the invocation deadline
        # at the latest, with whatever the run has finished by then.
        response_deadline = engine_deadline + config.deadline_margin_seconds / 2
        try:
            result = self._run_until(response_deadline, config, invocation, call_id, run_id,
                                     engine_deadline)
        except InvalidInputError as error:
            logger.error("invalid invocation payload", extra={"field": error.field,
                                                              "error": str(error)})
            result = _invalid_result(error, call_id, run_id, invocation.trigger)
        except KmsBackupError as error:
            logger.error("run failed", extra={"error": str(error),
                                              "error_type": type(error).__name__})
            result = _failed_result(str(error), type(error).__name__, call_id, run_id,
                                    invocation.trigger)
        # The function is the outermost edge: an unexpected error is logged with its traceback
        # and returned as a failed report rather than left to fdk, which would respond with a
        # bare 502 and no run id.
        except Exception as error:  # noqa: BLE001
            logger.exception("run failed with an unexpected error")
            result = _failed_result(f"{type(error).__name__}: {error}", "InternalError",
                                    call_id, run_id, invocation.trigger)

        logger.info("invocation finished", extra={
            "status": result.document.get("status"),
            "duration_ms": round((time.monotonic() - started) * 1000),
            "seconds_left_at_start": round(seconds_left, 3)})
        return result

    def _run_until(self, response_deadline: float, config: FunctionConfig, invocation: Invocation,
                   call_id: str | None, run_id: str, engine_deadline: float) -> InvocationResult:
        """Run ``_run`` in a thread; return its result, or a snapshot of the run at ``response_deadline``.

        A run still going at ``response_deadline`` goes on in its thread after the response. Its
        remaining calls are the ones a crash would have cut off, which the next run completes.
        """
        live_report = Report(run_id=run_id, dry_run=False)
        outcome: dict[str, Any] = {}
        finished = threading.Event()

        def run() -> None:
            try:
                outcome["result"] = self._run(config, invocation, call_id, run_id, engine_deadline,
                                              live_report)
            except BaseException as error:  # noqa: BLE001 - re-raised in the calling thread
                outcome["error"] = error
            finally:
                finished.set()

        self._wait_for_unfinished_run(response_deadline)
        worker = threading.Thread(target=run, name=f"kms-key-backup-run-{run_id[:8]}", daemon=True)
        self._unfinished_worker = worker
        worker.start()
        if finished.wait(max(0.0, response_deadline - time.monotonic())):
            if "error" in outcome:
                raise outcome["error"]
            return outcome["result"]

        document = live_report.snapshot()
        document.update({"run_id": run_id, "call_id": call_id, "trigger": invocation.trigger})
        if not (document["keys"] or document["unsupported"] or document["keys_left"]
                or document["keys_in_flight"]):
            document["warnings"] = document["warnings"] + [
                "the deadline came before the run reached its copy step; the next run starts over"]
        logger.warning("deadline near: responding while the run goes on", extra={
            "keys_in_flight": document["keys_in_flight"], "counts": document["counts"]})
        return InvocationResult(HTTP_STATUS[document["status"]], document)

    def _wait_for_unfinished_run(self, response_deadline: float) -> None:
        """Give a run left over from an earlier invocation up to half the time left to finish.

        Two runs of one job at once duplicate nothing, because copies are found by provenance and
        imports carry deterministic retry tokens, but the later run would then report conflicts
        on the keys both touch. Waiting a little first avoids most of them.
        """
        worker = self._unfinished_worker
        if worker is None or not worker.is_alive():
            return
        worker.join(max(0.0, (response_deadline - time.monotonic()) / 2))
        if worker.is_alive():
            logger.warning("the run of an earlier invocation is still going; starting this one anyway",
                           extra={"earlier_run_thread": worker.name})

    def _run(self, config: FunctionConfig, invocation: Invocation, call_id: str | None,
             run_id: str, engine_deadline: float, live_report: Report) -> InvocationResult:
        job = config.job
        if invocation.trigger == TRIGGER_PAYLOAD:
            job = self._job_from_payload(config, invocation.fragment)

        factory = self.factory(config)
        if invocation.trigger == TRIGGER_CANARY:
            return _run_canary(config, factory, invocation, call_id, run_id)
        event_fields: dict[str, Any] = {}
        if invocation.trigger == TRIGGER_EVENT:
            event = invocation.event
            event_fields = {"event_type": event.event_type, "event_id": event.event_id,
                            "resource_id": event.resource_id}
            decision = events.decide(event, job, factory)
            if not decision.syncs:
                logger.info("event ignored", extra={**event_fields, "reason": decision.reason})
                document = {"status": "ok", "run_id": run_id, "call_id": call_id,
                            "trigger": invocation.trigger, "action": "none",
                            "reason": decision.reason, "event": event_fields}
                return InvocationResult(200, document)
            logger.info("event selects one key", extra={**event_fields,
                                                         "key_id": decision.key_id})
            job = _job_for_key(job, decision.key_id)

        run_started = time.monotonic()
        live_report.dry_run = job.options.dry_run
        report = run_job(job, factory, deadline=engine_deadline, run_id=run_id, report=live_report)
        document = report.to_dict()
        document.update({"run_id": run_id, "call_id": call_id, "trigger": invocation.trigger})
        if event_fields:
            document["event"] = event_fields
            missing = None if decision.vault_checked else \
                events.missing_from_report(document, decision.key_id)
            if missing is not None:
                reason = f"key {decision.key_id} is not in the source vault: {missing}"
                logger.info("event ignored", extra={**event_fields, "reason": reason})
                return InvocationResult(200, {
                    "status": "ok", "run_id": run_id, "call_id": call_id,
                    "trigger": invocation.trigger, "action": "none", "reason": reason,
                    "event": event_fields})

        self._post_metrics(config, factory, document, time.monotonic() - run_started,
                           invocation.trigger)
        return InvocationResult(HTTP_STATUS.get(report.status, 502), document)

    def _job_from_payload(self, config: FunctionConfig, fragment: dict[str, Any]) -> Job:
        merged = apply_payload(config.job, fragment,
                               allow_targets=config.allow_payload_targets,
                               allow_widen=config.allow_payload_widen)
        try:
            return parse_job(merged)
        except InvalidInputError as error:
            raise payload_error(error) from None

    def _post_metrics(self, config: FunctionConfig, factory: ClientFactory,
                      document: dict[str, Any], duration_seconds: float, trigger: str) -> None:
        if not config.metrics_namespace:
            return
        source = config.job.source
        try:
            compartment_id = config.metrics_compartment_id or \
                factory.get_vault(source.region, source.vault_id).compartment_id
            metrics = run_metrics_from_report(document, duration_seconds)
        except KmsBackupError as error:
            logger.warning("metrics not posted", extra={"error": str(error)})
            return
        post_run_metrics(factory.monitoring_client(source.region), metrics,
                         config.metrics_namespace, compartment_id,
                         {"source_region": source.region, "source_vault_id": source.vault_id,
                          "trigger": trigger})


def _run_canary(config: FunctionConfig, factory: ClientFactory, invocation: Invocation, call_id: str | None,
                run_id: str) -> InvocationResult:
    """Run the doctor canary on the configured vaults; a failed verdict answers 502."""
    # NOTE: the canary does not watch the invocation deadline. It takes seconds on OCI, so
    # invoke it with a function timeout of a few minutes.
    result = canary.run_canary(factory, config.job, probe=invocation.probe, run_id=run_id)
    document = result.to_dict()
    document.update({"call_id": call_id, "trigger": invocation.trigger})
    logger.info("canary finished", extra={"passed": result.passed, "verdict": document["verdict"]})
    return InvocationResult(200 if result.passed else HTTP_STATUS[STATUS_FAILED], document)


def _job_for_key(job: Job, key_id: str) -> Job:
    """Return ``job`` narrowed to one key, keeping its exclusions."""
    data = job.to_dict()
    data["selection"].update({"key_ids": [key_id], "display_names": [], "freeform_tags": {},
                              "all_software_keys": False})
    return parse_job(data)


def _invalid_result(error: InvalidInputError, call_id: str | None, run_id: str,
                    trigger: str | None) -> InvocationResult:
    document = {
        "status": STATUS_INVALID_INPUT,
        "run_id": run_id,
        "call_id": call_id,
        "trigger": trigger,
        "error": {"field": error.field, "value": _json_safe(error.value),
                  "problem": error.problem, "fix": error.fix, "message": str(error)},
    }
    return InvocationResult(HTTP_STATUS[STATUS_INVALID_INPUT], document)


def _failed_result(message: str, error_type: str, call_id: str | None, run_id: str,
                   trigger: str | None) -> InvocationResult:
    document = {"status": STATUS_FAILED, "run_id": run_id, "call_id": call_id,
                "trigger": trigger, "error": {"type": error_type, "message": message}}
    return InvocationResult(HTTP_STATUS[STATUS_FAILED], document)


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


_runtime: FunctionRuntime | None = None
_runtime_lock = threading.Lock()


def handle_invocation(ctx, body: bytes) -> InvocationResult:
    """Handle one fdk call with the container's runtime, creating it on the first call."""
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = FunctionRuntime(ctx.Config())
        runtime = _runtime
    return runtime.invoke(body, ctx.CallID(), ctx.Deadline())
