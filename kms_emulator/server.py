"""The emulator's HTTP server: OCI API routes, the admin API under `/_emulator/`, and `EmulatorServer`.

A request passes these steps in order: route, latency, authentication (401), throttling (429),
injected faults, retry-token replay, the operation itself, then the call log and the state file.
"""

import hashlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import errors, ocids, routes
from . import state as state_file
from .auth import Authenticator
from .backend import Backend, Call
from .limits import CallLog, FaultRule, Faults, Throttle
from .seed import load_seed

logger = logging.getLogger("kms_emulator")
ADMIN_PREFIX = "/_emulator/"


class _Dropped(Exception):
    """Close the connection without a response (an injected `drop` fault)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kms-emulator"
    # Headers and body go out in two writes, and with Nagle's algorithm on, the body waits for the
    # client's delayed ACK (about 40 ms on Linux), which added that much to every call.
    disable_nagle_algorithm = True
    emulator: "EmulatorServer"  # set on a subclass per server

    def log_message(self, format, *args):  # noqa: A002 - the name is fixed by BaseHTTPRequestHandler
        logger.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")

    def _send(self, status: int, body, headers: dict | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.send_header("opc-request-id", self._request_id)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _handle(self, method: str) -> None:
        self._request_id = self.headers.get("opc-request-id") or ocids.new_request_id()
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        try:
            if url.path.startswith(ADMIN_PREFIX):
                status, body = self.emulator.admin(method, url.path[len(ADMIN_PREFIX):], raw)
                self._send(status, body)
                return
            status, body, headers = self.emulator.serve(method, self.path, url, raw, self.headers)
            self._send(status, body, headers)
        except _Dropped:
            self.close_connection = True
        except errors.ServiceError as exc:
            self._send(exc.status, exc.to_body())
        except Exception:
            logger.exception("Unexpected error while serving %s %s", method, url.path)
            self._send(500, {"code": "InternalServerError", "message": "The emulator failed unexpectedly; see its log."})


class EmulatorServer:
    """The emulator, run in a background thread of this process.

    `srv.state` is the in-process backend; tests read stored key material through it
    (`srv.state.secret_material()`), which is never reachable over HTTP.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed=None, latency_ms: int = 0,
                 throttle_rps: float | None = None, lifecycle_delay_ms: int = 50, state_file: str | None = None):
        self.host = host
        self.port = port
        self.state = Backend()
        self.state.settings.update({"latency_ms": latency_ms, "throttle_rps": throttle_rps,
                                    "lifecycle_delay_ms": lifecycle_delay_ms})
        self.state_file = state_file
        self.authenticator = Authenticator(self.state.lookup_user_key, self.state.tenancy_exists)
        self.throttle = Throttle()
        self.faults = Faults()
        self.calls = CallLog()
        self._seed = load_seed(seed)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # ---- lifecycle ----

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def kms_endpoint_template(self) -> str:
        return f"{self.url}/kms/{{region}}"

    @property
    def telemetry_endpoint_template(self) -> str:
        return f"{self.url}/telemetry/{{region}}"

    @property
    def admin_url(self) -> str:
        return f"{self.url}{ADMIN_PREFIX}"

    def start(self) -> "EmulatorServer":
        """Bind, load state and seed, and serve in a daemon thread; return once requests are accepted."""
        handler = type("Handler", (_Handler,), {"emulator": self})
        server = self

        class _Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def process_request(self, request, client_address):
                with server._connections_lock:
                    server._connections.add(request)
                super().process_request(request, client_address)

            def shutdown_request(self, request):
                with server._connections_lock:
                    server._connections.discard(request)
                super().shutdown_request(request)

        self._httpd = _Server((self.host, self.port), handler)
        self.port = self._httpd.server_address[1]
        self.state.base_url = self.url
        with self.state.lock:
            if self.state_file:
                state_file.load(self.state, self.state_file)
            if self._seed:
                self.state.add_world(self._seed)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"kms-emulator-{self.port}", daemon=True)
        self._thread.start()
        logger.info("KMS emulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections, wait for the server thread, and save the state file."""
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        with self._connections_lock:
            for connection in list(self._connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._httpd.server_close()
        self._thread.join(timeout=10)
        if self.state_file:
            with self.state.lock:
                state_file.save(self.state, self.state_file)
        self._httpd = None
        logger.info("KMS emulator on port %s stopped", self.port)

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # ---- OCI API ----

    def serve(self, method: str, raw_path: str, url, raw: bytes, headers):
        found = routes.match(method, url.path)
        if found is None:
            raise errors.NotAuthorizedOrNotFound(f"No OCI API route matches {method} {url.path}.")
        if found == "method":
            raise errors.ServiceError(f"Method {method} is not allowed on {url.path}.", status=405, code="MethodNotAllowed")
        route = found.route

        body = {}
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise errors.CannotParseRequest("The request body is not valid JSON.") from None
            if not isinstance(body, dict):
                raise errors.CannotParseRequest("The request body must be a JSON object.")
        path_params = found.path_params
        entry = self.calls.start(
            operation=route.operation, category=route.category, write=route.write,
            region=found.region, vault_id=self._vault_id_for(found, body), tenancy_id=None, principal=None,
            key_id=path_params.get("keyId") or body.get("keyId"),
            key_version_id=path_params.get("keyVersionId") or body.get("keyVersionId"),
            request_id=self._request_id_of(headers),
        )
        try:
            status, response, response_headers = self._serve_call(method, raw_path, raw, headers, route, found,
                                                                 body, entry)
        except errors.ServiceError as exc:
            self.calls.finish(entry, exc.status, exc.code)
            if exc.status >= 500 or exc.status == 429:
                logger.info("%s returned %s %s: %s", route.operation, exc.status, exc.code, exc.message)
            raise
        except _Dropped:
            self.calls.finish(entry, 0, "ConnectionDropped")
            raise
        self.calls.finish(entry, status, None)
        if route.write and self.state_file:
            with self.state.lock:
                state_file.save(self.state, self.state_file)
        return status, response, response_headers

    @staticmethod
    def _request_id_of(headers) -> str | None:
        return headers.get("opc-request-id")

    def _vault_id_for(self, found, body: dict) -> str | None:
        if found.path_params.get("vaultId"):
            return found.path_params["vaultId"]
        if found.vault_suffix:
            with self.state.lock:
                for vault in self.state.vaults.values():
                    if vault.suffix == found.vault_suffix:
                        return vault.id
        return None

    def _serve_call(self, method, raw_path, raw, headers, route, found, body, entry):
        settings = self.state.settings
        if settings.latency_ms:
            self._stopping.wait(settings.latency_ms / 1000.0)

        principal = self.authenticator.authenticate(method, raw_path, headers, raw)
        entry.update(tenancy_id=principal.tenancy_id, principal=principal.principal_id)

        region = found.region
        if region is None and found.vault_suffix:
            with self.state.lock:
                region = next((v.region for v in self.state.vaults.values() if v.suffix == found.vault_suffix), None)
            entry["region"] = region
        if not self.throttle.admit(settings.throttle_rps, (region, principal.tenancy_id, route.category)):
            raise errors.TooManyRequests(
                f"Too many {route.category} requests for tenancy {principal.tenancy_id} in {region}; retry with backoff."
            )

        rule = self.faults.pick(route.operation, entry.get("key_id"))
        if rule is not None:
            if rule.action == "drop":
                raise _Dropped()
            if rule.action == "stall":
                self._stopping.wait(rule.stall_seconds)
            elif rule.action == "error":
                raise errors.ServiceError(rule.message, status=rule.status, code=rule.code)

        call = Call(route.operation, principal, found.region, found.vault_suffix, found.path_params,
                    dict(parse_qsl(urlsplit(raw_path).query)), body,
                    {name.lower(): value for name, value in headers.items()})
        token = call.headers.get("opc-retry-token")
        digest = hashlib.sha256(raw).hexdigest()
        with self.state.lock:
            if token and route.write:
                stored = self.state.replay(call, token, digest)
                if stored is not None:
                    return stored
            result = getattr(self.state, route.handler)(call)
            if token and route.write:
                self.state.remember(call, token, digest, result)
        if rule is not None and rule.action == "drop_after":
            raise _Dropped()
        return result

    # ---- admin API ----

    def admin(self, method: str, path: str, raw: bytes):
        from .admin import handle_admin

        return handle_admin(self, method, path.strip("/"), raw)
