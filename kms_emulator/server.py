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
# The largest legitimate API body is an RSA-4096 key import (about 4 KB) or a batch of metric data.
# Seeds posted to the admin API can contain thousands of keys.
# NOTE: OCI does not document its request size limit for KMS calls, so 1 MiB is a guess.
MAX_API_BODY_BYTES = 1 << 20
MAX_ADMIN_BODY_BYTES = 64 << 20
# A client that sends its headers and then stalls blocks a server thread, so this many seconds of
# silence close its connection.
SOCKET_TIMEOUT_SECONDS = 120
# The codes sent when the standard library's HTTP parser rejects a request before it reaches a route.
# NOTE: OCI rejects these requests in its front end. The codes are the closest ones in OCI's
# common error table, not captured responses.
_PARSER_ERROR_CODES = {400: "CannotParseRequest", 408: "RequestTimeout", 413: "PayloadTooLarge",
                       414: "CannotParseRequest", 431: "CannotParseRequest", 501: "MethodNotImplemented"}


class _Dropped(Exception):
    """Close the connection without a response (an injected `drop` fault)."""


class _BadRequestBody(errors.ServiceError):
    """The request's framing (content-length, transfer-encoding) is unusable, so the connection closes."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kms-emulator"
    timeout = SOCKET_TIMEOUT_SECONDS
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
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.send_header("opc-request-id", self._request_id)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError) as exc:
            # The client closed the connection because it timed out or the server is stopping.
            logger.debug("Client closed the connection before the %s answer was sent: %s", status, exc)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Send the standard library parser's own rejections (bad request line, unknown method) as OCI error JSON."""
        self._request_id = getattr(self, "_request_id", None) or ocids.new_request_id()
        self.close_connection = True
        body = {"code": _PARSER_ERROR_CODES.get(code, "CannotParseRequest"),
                "message": f"{message or 'The request is malformed'}; send a well-formed HTTP/1.1 request."}
        self._send(code, None if self.command == "HEAD" else body)

    def _read_body(self, limit: int) -> bytes:
        """Read the request body that content-length announces, rejecting framing the emulator cannot trust."""
        if self.headers.get("transfer-encoding"):
            self.close_connection = True
            raise _BadRequestBody(
                f"transfer-encoding {self.headers['transfer-encoding']!r} is not supported; send the body with a content-length.",
                status=411, code="LengthRequired")
        declared = self.headers.get("content-length")
        if declared is None:
            return b""
        if not declared.isdigit():
            self.close_connection = True
            raise _BadRequestBody(f"content-length {declared!r} is not a non-negative integer.", status=400,
                                  code="CannotParseRequest")
        length = int(declared)
        if length > limit:
            self.close_connection = True
            raise _BadRequestBody(f"The request body of {length} bytes exceeds the limit of {limit} bytes.",
                                  status=413, code="PayloadTooLarge")
        raw = self.rfile.read(length) if length else b""
        if len(raw) != length:
            self.close_connection = True
            raise _BadRequestBody(f"The request body ended after {len(raw)} of {length} bytes.", status=400,
                                  code="CannotParseRequest")
        return raw

    def _handle(self, method: str) -> None:
        self._request_id = self.headers.get("opc-request-id") or ocids.new_request_id()
        url = urlsplit(self.path)
        is_admin = url.path.startswith(ADMIN_PREFIX)
        try:
            raw = self._read_body(MAX_ADMIN_BODY_BYTES if is_admin else MAX_API_BODY_BYTES)
            if is_admin:
                status, body = self.emulator.admin(method, url.path[len(ADMIN_PREFIX):], raw)
                self._send(status, body)
                return
            status, body, headers = self.emulator.serve(method, self.path, url, raw, self.headers)
            self._send(status, body, headers)
        except _Dropped:
            self.close_connection = True
        except errors.ServiceError as exc:
            self._send(exc.status, exc.to_body())
        except TimeoutError:
            logger.info("Timed out reading the body of %s %s; closing the connection", method, url.path)
            self.close_connection = True
        except Exception:
            logger.exception("Unexpected error while serving %s %s", method, url.path)
            self._send(500, {"code": "InternalServerError", "message": "The emulator failed unexpectedly; see its log."})


def _parse_json_body(raw: bytes) -> tuple[dict, errors.ServiceError | None]:
    """Return the JSON object in a request body (empty for no body) and the error to raise if it is not one."""
    if not raw:
        return {}, None
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}, errors.CannotParseRequest("The request body is not valid JSON; send a JSON object.")
    except RecursionError:
        return {}, errors.CannotParseRequest("The request body nests JSON too deeply; send a flat JSON object.")
    if not isinstance(body, dict):
        return {}, errors.CannotParseRequest(f"The request body must be a JSON object, not a {type(body).__name__}.")
    return body, None


def _check_content_type(headers, raw: bytes) -> None:
    """Reject a body that is not declared as JSON.

    NOTE: OCI's answer to a wrong content-type is not documented; the emulator uses 400
    CannotParseRequest, OCI's code for a request it cannot read.
    """
    if not raw:
        return
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.CannotParseRequest(
            f"content-type {headers.get('content-type')!r} is not supported; send the body as application/json."
        )


class EmulatorServer:
    """The emulator, run in a background thread of this process.

    `srv.state` is the in-process backend; tests read stored key material through it
    (`srv.state.secret_material()`), which is never reachable over HTTP.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, seed=None, latency_ms: int = 0,
                 throttle_rps: float | None = None, lifecycle_delay_ms: int = 50, state_file: str | None = None,
                 reuse_wrapping_keys: bool = False):
        self.host = host
        self.port = port
        self.state = Backend()
        self.state.reuse_wrapping_keys = reuse_wrapping_keys
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

        # The body is parsed before authentication only to fill the call log. A parse failure is
        # raised after authentication, because OCI authenticates a request before it reads the body.
        body, parse_error = _parse_json_body(raw)
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
                                                                 body, parse_error, entry)
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

    def _serve_call(self, method, raw_path, raw, headers, route, found, body, parse_error, entry):
        settings = self.state.settings
        if settings.latency_ms:
            self._stopping.wait(settings.latency_ms / 1000.0)

        principal = self.authenticator.authenticate(method, raw_path, headers, raw)
        entry.update(tenancy_id=principal.tenancy_id, principal=principal.principal_id)
        if parse_error is not None:
            raise parse_error
        _check_content_type(headers, raw)

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
        # A retry token names one request: the same operation on another resource (another path)
        # or with another body is a different request, even with an empty body.
        digest = hashlib.sha256(f"{method} {raw_path}\n".encode("utf-8") + raw).hexdigest()
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
