"""Run ``func.py`` locally through the Fn Python FDK, the way the Fn agent runs it.

The Fn agent starts ``fdk func.py handler`` with ``FN_FORMAT=http-stream`` and
``FN_LISTENER=unix:<dir>/lsnr.sock``. fdk binds a socket named ``phonylsnr.sock`` in that
directory and, once it serves, links ``lsnr.sock`` to it, so the link appearing means ready.
Each invocation is an HTTP ``POST /call`` over that socket with the ``Fn-Call-Id``,
``Fn-Deadline`` (RFC 3339) and ``Content-Type`` headers (fdk 0.1.128, ``fdk/__init__.py`` and
``fdk/context.py``). fdk reads ``Fn-Deadline`` into ``ctx.Deadline()`` but does not enforce it.

Used by the function tests and by ``make demo``; excluded from the function image.
"""

import datetime
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

SOCKET_NAME = "lsnr.sock"


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, socket_path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._socket_path)


@dataclass
class CallResult:
    """The HTTP response of one ``POST /call``."""

    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


class LocalFunction:
    """One ``fdk`` process serving ``func.py`` on a unix socket in ``work_dir``.

    Use it as a context manager: the process is stopped and reaped on exit. Its stdout and stderr
    go to ``stdout.log`` and ``stderr.log`` in ``work_dir``, the lines OCI Logging would collect.
    """

    def __init__(self, func_path: Path, environment: Mapping[str, str], work_dir: Path,
                 fdk_executable: str | None = None):
        self.func_path = Path(func_path).resolve()
        self.work_dir = Path(work_dir).resolve()
        self.socket_path = self.work_dir / SOCKET_NAME
        self.stdout_path = self.work_dir / "stdout.log"
        self.stderr_path = self.work_dir / "stderr.log"
        self._environment = dict(environment)
        self._fdk = fdk_executable or str(Path(sys.executable).parent / "fdk")
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "LocalFunction":
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def start(self, timeout_seconds: float = 30.0) -> None:
        """Start fdk and wait until it links its socket; raise RuntimeError if it does not."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        environment = {
            **self._environment,
            "FN_FORMAT": "http-stream",
            "FN_LISTENER": f"unix:{self.socket_path}",
        }
        with open(self.stdout_path, "ab") as stdout, open(self.stderr_path, "ab") as stderr:
            self._process = subprocess.Popen(
                [self._fdk, str(self.func_path), "handler"],
                env=environment, cwd=str(self.func_path.parent),
                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
            )

        stop_at = time.monotonic() + timeout_seconds
        while not self.socket_path.is_symlink():
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"fdk exited with code {self._process.returncode} before serving; "
                    f"see {self.stderr_path}")
            if time.monotonic() > stop_at:
                self.stop()
                raise RuntimeError(f"fdk did not link {self.socket_path} within "
                                   f"{timeout_seconds:g} s; see {self.stderr_path}")
            time.sleep(0.02)

    @property
    def pid(self) -> int | None:
        """The process id of the running fdk process, or None when it is not running."""
        return self._process.pid if self._process is not None else None

    def invoke(self, body: bytes | str | Mapping[str, Any] = b"", *,
               deadline_seconds: float = 30.0, call_id: str | None = None,
               content_type: str = "application/json",
               timeout_seconds: float | None = None) -> CallResult:
        """POST one call; ``deadline_seconds`` from now becomes the ``Fn-Deadline`` header."""
        if isinstance(body, Mapping):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")

        deadline = datetime.datetime.now(datetime.timezone.utc) \
            + datetime.timedelta(seconds=deadline_seconds)
        headers = {
            "Fn-Call-Id": call_id or uuid.uuid4().hex,
            "Fn-Deadline": deadline.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "Content-Type": content_type,
        }

        connection = _UnixHTTPConnection(
            str(self.socket_path),
            timeout=timeout_seconds if timeout_seconds is not None else deadline_seconds + 60)
        started = time.monotonic()
        try:
            connection.request("POST", "/call", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            return CallResult(status=response.status,
                              headers={name.lower(): value for name, value in response.getheaders()},
                              body=payload, elapsed_seconds=time.monotonic() - started)
        finally:
            connection.close()

    def stop(self, timeout_seconds: float = 10.0) -> None:
        """Stop fdk with SIGTERM, then SIGKILL if it does not exit, and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout_seconds)
        for path in (self.socket_path, self.work_dir / ("phony" + SOCKET_NAME)):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def logs(self) -> str:
        """Return everything the process wrote to stdout and stderr so far."""
        texts = []
        for path in (self.stdout_path, self.stderr_path):
            if path.exists():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "".join(texts)
