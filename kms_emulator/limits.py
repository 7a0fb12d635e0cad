"""Throttling, fault injection and the call log.

Throttling: one token bucket per (region, tenancy, category), refilled at `throttle_rps` tokens a
second and containing at most `throttle_rps` tokens, so a burst above the rate gets 429
TooManyRequests as OCI does when a tenancy exceeds a service limit.
"""

import itertools
import random
import threading
import time
import uuid
from dataclasses import dataclass, field

from . import errors


class Throttle:
    def __init__(self):
        self._buckets: dict[tuple, list[float]] = {}
        self._lock = threading.Lock()

    def admit(self, rate: float | None, bucket: tuple) -> bool:
        """Take one token from the bucket; return False when it is empty (or True when unthrottled)."""
        if not rate:
            return True
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(bucket, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens < 1:
                self._buckets[bucket] = [tokens, now]
                return False
            self._buckets[bucket] = [tokens - 1, now]
            return True


FAULT_ACTIONS = ("error", "drop", "drop_after", "stall")


@dataclass
class FaultRule:
    """A rule that makes matching calls fail.

    `nth` fails the Nth matching call (counting from 1) and the `times - 1` calls after it.
    `probability` fails each matching call with that chance until `times` calls have failed
    (no limit when `times` is not given).

    Actions: `error` responds with `status`/`code`/`message`. `drop` closes the connection before
    the call runs, and `drop_after` runs the call and then closes the connection without a
    response. `stall` waits `stall_seconds` and then runs the call.
    """

    operation: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    nth: int | None = None
    probability: float | None = None
    times: int | None = None
    status: int = 500
    code: str = "InternalServerError"
    message: str = "Injected fault."
    action: str = "error"
    stall_seconds: float = 0.0
    key_id: str | None = None
    seen: int = 0
    fired: int = 0

    @classmethod
    def from_request(cls, body: dict, operations: list[str]) -> "FaultRule":
        if not isinstance(body, dict):
            raise errors.InvalidParameter("A fault rule must be a JSON object.")
        known = set(cls.__dataclass_fields__) - {"id", "seen", "fired"}
        unknown = set(body) - known
        if unknown:
            raise errors.InvalidParameter(f"Fault rule has unknown fields {sorted(unknown)}; known fields are {sorted(known)}.")
        operation = body.get("operation")
        if operation not in operations and operation != "*":
            raise errors.InvalidParameter(f"Fault rule operation {operation!r} is unknown; use '*' or one of {operations}.")
        action = body.get("action", "error")
        if action not in FAULT_ACTIONS:
            raise errors.InvalidParameter(f"Fault rule action {action!r} is invalid; use one of {FAULT_ACTIONS}.")
        nth, probability = body.get("nth"), body.get("probability")
        if nth is not None and probability is not None:
            raise errors.InvalidParameter("A fault rule takes nth or probability, not both.")
        if nth is not None and (not isinstance(nth, int) or nth < 1):
            raise errors.InvalidParameter(f"Fault rule nth {nth!r} must be an integer of 1 or more.")
        if probability is not None and (not isinstance(probability, (int, float)) or not 0 <= probability <= 1):
            raise errors.InvalidParameter(f"Fault rule probability {probability!r} must be between 0 and 1.")
        times = body.get("times")
        if times is not None and (not isinstance(times, int) or times < 1):
            raise errors.InvalidParameter(f"Fault rule times {times!r} must be an integer of 1 or more.")
        stall_seconds = body.get("stall_seconds", 0.0)
        if not isinstance(stall_seconds, (int, float)) or isinstance(stall_seconds, bool) or stall_seconds < 0:
            raise errors.InvalidParameter(f"Fault rule stall_seconds {stall_seconds!r} must be a number of 0 or more.")
        status = body.get("status", 500)
        if not isinstance(status, int) or not 400 <= status <= 599:
            raise errors.InvalidParameter(f"Fault rule status {status!r} must be an HTTP error status (400-599).")
        rule = cls(operation=operation, nth=nth, probability=probability, times=times, status=status,
                   code=body.get("code") or _default_code(status), message=body.get("message") or "Injected fault.",
                   action=action, stall_seconds=float(stall_seconds), key_id=body.get("key_id"))
        if rule.nth is None and rule.probability is None:
            rule.nth = 1
        if rule.nth is not None and rule.times is None:
            rule.times = 1
        return rule

    def fires(self, operation: str, key_id: str | None, rng: random.Random) -> bool:
        if self.operation not in ("*", operation) or (self.key_id and self.key_id != key_id):
            return False
        self.seen += 1
        if self.times is not None and self.fired >= self.times:
            return False
        if self.nth is not None:
            hit = self.seen >= self.nth
        else:
            hit = rng.random() < self.probability
        if hit:
            self.fired += 1
        return hit

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _default_code(status: int) -> str:
    return {400: "InvalidParameter", 401: "NotAuthenticated", 404: "NotAuthorizedOrNotFound", 409: "IncorrectState",
            412: "NoEtagMatch", 429: "TooManyRequests", 500: "InternalServerError",
            503: "ServiceUnavailable"}.get(status, "InternalServerError")


class Faults:
    def __init__(self, seed: int | None = None):
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def add(self, rule: FaultRule) -> str:
        with self._lock:
            self._rules.append(rule)
        return rule.id

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def list(self) -> list[dict]:
        with self._lock:
            return [rule.to_json() for rule in self._rules]

    def pick(self, operation: str, key_id: str | None) -> FaultRule | None:
        """Return the first rule that fires for this call; every matching rule counts the call."""
        chosen = None
        with self._lock:
            for rule in self._rules:
                if rule.fires(operation, key_id, self._rng) and chosen is None:
                    chosen = rule
        return chosen


class CallLog:
    """Every API call the emulator handled (admin calls aside), in order of arrival."""

    def __init__(self):
        self._calls: list[dict] = []
        self._lock = threading.Lock()
        self._seq = itertools.count(1)

    def start(self, **fields) -> dict:
        entry = {"seq": next(self._seq), "status": None, "code": None, "start": time.time(), "end": None, **fields}
        with self._lock:
            self._calls.append(entry)
        return entry

    def finish(self, entry: dict, status: int, code: str | None) -> None:
        entry.update(status=status, code=code, end=time.time())

    def list(self) -> list[dict]:
        with self._lock:
            return [dict(call) for call in self._calls]

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
