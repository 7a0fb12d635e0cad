"""The emulator's admin API under `{url}/_emulator/`, and `AdminClient`, a small client for it.

The admin API needs no signature: the emulator binds to the loopback address and exists for tests.

| method and path | body | returns |
|---|---|---|
| `POST resource-principal-token` | `{"tenancy_id", "compartment_id", "resource_id", "public_key_pem", "ttl_seconds"}` | `{"token"}` |
| `GET calls`, `DELETE calls` | | `{"calls": [...]}` |
| `POST faults`, `GET faults`, `DELETE faults` | a fault rule | `{"id"}` |
| `GET settings`, `PATCH settings` | settings to change | the settings |
| `POST seed` | a seed object | the OCIDs created |
| `GET metrics`, `DELETE metrics` | | `{"metrics": [...]}` |
| `GET health` | | `{"status": "ok"}` |
"""

import json
import urllib.request
from dataclasses import asdict

from . import errors, routes
from .limits import FaultRule


def _body(raw: bytes):
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise errors.CannotParseRequest("The admin request body is not valid JSON.") from None


def handle_admin(server, method: str, path: str, raw: bytes):
    body = _body(raw)
    if (method, path) == ("POST", "resource-principal-token"):
        for name in ("tenancy_id", "compartment_id", "resource_id", "public_key_pem"):
            if not isinstance(body.get(name), str):
                raise errors.MissingParameter(f"{name} is required and must be a string.")
        ttl = body.get("ttl_seconds", 3600)
        if not isinstance(ttl, int) or isinstance(ttl, bool):
            raise errors.InvalidParameter(f"ttl_seconds {ttl!r} must be an integer number of seconds.")
        if body["tenancy_id"] not in server.state.tenancies:
            raise errors.InvalidParameter(f"tenancy_id {body['tenancy_id']} is not a seeded tenancy; seed it first.")
        token = server.authenticator.mint_resource_principal_token(
            body["tenancy_id"], body["compartment_id"], body["resource_id"], body["public_key_pem"], ttl)
        return 200, {"token": token}
    if (method, path) == ("GET", "calls"):
        return 200, {"calls": server.calls.list()}
    if (method, path) == ("DELETE", "calls"):
        server.calls.clear()
        return 200, {"calls": []}
    if (method, path) == ("POST", "faults"):
        rule = FaultRule.from_request(body, routes.OPERATIONS)
        return 200, {"id": server.faults.add(rule)}
    if (method, path) == ("GET", "faults"):
        return 200, {"faults": server.faults.list()}
    if (method, path) == ("DELETE", "faults"):
        server.faults.clear()
        return 200, {"faults": []}
    if (method, path) == ("GET", "settings"):
        return 200, asdict(server.state.settings)
    if (method, path) == ("PATCH", "settings"):
        if not isinstance(body, dict):
            raise errors.InvalidParameter("The settings body must be a JSON object.")
        with server.state.lock:
            server.state.settings.update(body)
        return 200, asdict(server.state.settings)
    if (method, path) == ("POST", "seed"):
        return 200, server.state.add_world(body)
    if (method, path) == ("GET", "metrics"):
        with server.state.lock:
            return 200, {"metrics": list(server.state.metrics)}
    if (method, path) == ("DELETE", "metrics"):
        with server.state.lock:
            server.state.metrics.clear()
        return 200, {"metrics": []}
    if (method, path) == ("GET", "health"):
        return 200, {"status": "ok"}
    raise errors.NotAuthorizedOrNotFound(f"No admin route {method} /_emulator/{path}.")


class AdminError(Exception):
    """An admin API call failed; `status` and `code` come from the emulator's response."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class AdminClient:
    """A client for the admin API of an emulator at `url` (the server's base URL)."""

    def __init__(self, url: str, timeout: float = 30.0):
        self.base = url.rstrip("/") + "/_emulator/"
        self.timeout = timeout

    def _call(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - loopback only
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            answer = json.loads(exc.read() or b"{}")
            raise AdminError(exc.code, answer.get("code", ""), answer.get("message", "")) from None

    def resource_principal_token(self, tenancy_id: str, compartment_id: str, resource_id: str,
                                 public_key_pem: str, ttl_seconds: int = 3600) -> str:
        return self._call("POST", "resource-principal-token", {
            "tenancy_id": tenancy_id, "compartment_id": compartment_id, "resource_id": resource_id,
            "public_key_pem": public_key_pem, "ttl_seconds": ttl_seconds})["token"]

    def calls(self, **filters) -> list[dict]:
        """Return the call log, keeping only calls whose fields equal every given filter."""
        calls = self._call("GET", "calls")["calls"]
        return [call for call in calls if all(call.get(name) == value for name, value in filters.items())]

    def clear_calls(self) -> None:
        self._call("DELETE", "calls")

    def add_fault(self, operation: str, **rule) -> str:
        return self._call("POST", "faults", {"operation": operation, **rule})["id"]

    def clear_faults(self) -> None:
        self._call("DELETE", "faults")

    def settings(self) -> dict:
        return self._call("GET", "settings")

    def update_settings(self, **changes) -> dict:
        return self._call("PATCH", "settings", changes)

    def seed(self, world: dict) -> dict:
        return self._call("POST", "seed", world)

    def metrics(self) -> list[dict]:
        return self._call("GET", "metrics")["metrics"]
