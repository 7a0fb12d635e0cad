"""Suite-wide secret scan: no key material or wrapped key blob may appear in anything the suite produces.

The session fixture ``secret_scan_session`` (installed by ``tests/conftest.py``) collects:

- needles: the key material and private wrapping keys of every in-process ``EmulatorServer``
  (``state.secret_material()``, read when the server stops), and every ``encryptedKey`` blob
  that the emulator's ``ExportKey`` returned;
- haystacks: every log record of the session (a root handler, with its ``extra`` fields), every
  output read through ``capsys``/``capfd``, every response body of a ``LocalFunction`` (fdk)
  call, the captured stdout, stderr and log of every test, and at session end every file under
  the session's temporary directory.

At session end each needle is searched in hex, standard and URL-safe base64, and raw (latin-1)
form, with line breaks removed so that PEM-wrapped base64 matches too. A hit fails the run.

Files with mode 0600 are skipped: export-only files (which hold a wrapped blob by design), the
emulator's own state file and private-key files are written that way, and nothing else is.

NOTE: emulators started as separate processes (``python -m kms_emulator``) are not covered,
because their state is not readable from the test process.
"""

from __future__ import annotations

import base64
import logging
import os
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Every needle is at least this long in every form (a 16-byte AES key is 24 base64 characters),
# so windows of this many characters index the needles with no false matches on short text.
WINDOW = 16
MAX_FILE_BYTES = 8 * 1024 * 1024
LINE_BREAKS = ("\r", "\n", "\\r", "\\n")


def needle_forms(secret: bytes) -> list[str]:
    """Return the text forms in which a secret could leak: hex, base64, URL-safe base64, raw."""
    forms = [secret.hex(), secret.hex().upper(), base64.b64encode(secret).decode("ascii"),
             base64.urlsafe_b64encode(secret).decode("ascii"), secret.decode("latin-1")]
    # Base64 padding is often dropped or escaped, so the padded tail is not required to match.
    forms += [form.rstrip("=") for form in forms[2:4]]
    # Haystacks lose their line breaks before the search, so the needles lose theirs too.
    forms = [normalize(form) for form in forms]
    return [form for form in dict.fromkeys(forms) if len(form) >= WINDOW]


def normalize(text: str) -> str:
    for line_break in LINE_BREAKS:
        text = text.replace(line_break, "")
    return text


class SecretIndex:
    """Needles indexed by their first ``WINDOW`` characters, for one pass over each haystack."""

    def __init__(self):
        self._by_prefix: dict[str, list[tuple[str, str]]] = {}

    def add(self, secret: bytes, label: str) -> None:
        for form in needle_forms(secret):
            self._by_prefix.setdefault(form[:WINDOW], []).append((form, label))

    def __len__(self) -> int:
        return sum(len(needles) for needles in self._by_prefix.values())

    def find(self, text: str) -> list[str]:
        """Return the labels of the needles found in ``text``."""
        text = normalize(text)
        found = []
        prefixes = self._by_prefix
        for start in range(len(text) - WINDOW + 1):
            needles = prefixes.get(text[start:start + WINDOW])
            if needles:
                found.extend(label for form, label in needles if text.startswith(form, start))
        return found


@dataclass
class SecretScan:
    """Needles and haystacks of one session."""

    secrets: dict[bytes, str] = field(default_factory=dict)
    haystacks: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_secret(self, secret: bytes, label: str) -> None:
        if secret:
            with self.lock:
                self.secrets.setdefault(bytes(secret), label)

    def add_text(self, where: str, text) -> None:
        if isinstance(text, bytes):
            text = text.decode("latin-1")
        if text:
            with self.lock:
                self.haystacks.append((where, str(text)))

    def scan(self, directory: Path | None = None) -> list[str]:
        """Return one line per hit: where the secret appeared and what it was."""
        index = SecretIndex()
        with self.lock:
            for secret, label in self.secrets.items():
                index.add(secret, label)
            haystacks = list(self.haystacks)
        if directory is not None:
            haystacks.extend(_files_under(directory))
        hits = []
        for where, text in haystacks:
            for label in sorted(set(index.find(text))):
                hits.append(f"{where}: contains {label}")
        return hits


def _files_under(directory: Path):
    for path in sorted(directory.rglob("*")):
        try:
            info = path.lstat()
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) == 0o600 or info.st_size > MAX_FILE_BYTES:
            continue
        yield f"file {path}", path.read_bytes().decode("latin-1")


class _RecordingHandler(logging.Handler):
    """Keep each record's message and every attribute, so ``extra`` fields are scanned too."""

    def __init__(self, scan: SecretScan):
        super().__init__(level=logging.DEBUG)
        self._scan = scan

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except (TypeError, ValueError):
            text = str(record.msg)
        fields = {name: value for name, value in vars(record).items() if name not in ("msg", "args")}
        self._scan.add_text(f"log record of {record.name}", f"{text} {fields!r}")


def _wrap(monkeypatch: pytest.MonkeyPatch, owner, name: str, after) -> None:
    """Replace ``owner.name`` with a wrapper that calls the original, then ``after(self, result)``."""
    original = getattr(owner, name)

    def wrapper(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        after(self, result)
        return result

    monkeypatch.setattr(owner, name, wrapper)


def install(scan: SecretScan, monkeypatch: pytest.MonkeyPatch) -> _RecordingHandler:
    """Hook the collection points into the emulator, fdk harness, capture fixtures and logging."""
    from _pytest.capture import CaptureFixture

    from kms_emulator.backend import Backend
    from kms_emulator.server import EmulatorServer
    from kms_key_backup.function.local import LocalFunction

    def remember_material(server, _result) -> None:
        for secret in server.state.secret_material():
            scan.add_secret(secret, f"key material of an emulator at {server.url}")

    def remember_blob(_backend, result) -> None:
        status, body, _headers = result
        if status == 200 and body.get("encryptedKey"):
            scan.add_secret(base64.b64decode(body["encryptedKey"]), f"the export blob of {body['keyVersionId']}")

    _wrap(monkeypatch, EmulatorServer, "stop", remember_material)
    _wrap(monkeypatch, Backend, "export_key", remember_blob)
    _wrap(monkeypatch, LocalFunction, "invoke",
          lambda _function, result: scan.add_text("a function response", result.body))
    _wrap(monkeypatch, CaptureFixture, "readouterr",
          lambda _fixture, result: [scan.add_text("captured output", part) for part in result])

    handler = _RecordingHandler(scan)
    logging.getLogger().addHandler(handler)
    return handler


def report_hits(session: pytest.Session, hits: list[str], needles: int, haystacks: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if hits:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if reporter is None:
        return
    if hits:
        reporter.section("secret scan failed", sep="=", red=True)
        for hit in hits[:50]:
            reporter.write_line(hit)
        reporter.write_line(f"{len(hits)} hit(s); key material or a wrapped blob leaked into the output above")
    else:
        reporter.write_line(f"secret scan: {needles} secret(s) in {haystacks} output(s) and files, no hit")


# The scan of the running session; ``tests/conftest.py`` creates it and its hooks read it.
SESSION_SCAN = SecretScan()
# Loggers of this project whose records are scanned at DEBUG even when the root logger is at WARNING.
PROJECT_LOGGERS = ("kms_key_backup", "kms_emulator")


def session_fixture(tmp_path_factory):
    """Install the collection points for the whole session and remove them at its end."""
    monkeypatch = pytest.MonkeyPatch()
    handler = install(SESSION_SCAN, monkeypatch)
    levels = {}
    for name in PROJECT_LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.DEBUG)
    try:
        yield SESSION_SCAN
    finally:
        logging.getLogger().removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        monkeypatch.undo()


def record_test_output(report: pytest.TestReport) -> None:
    """Keep what pytest captured for one test phase: stdout, stderr and log."""
    for name, text in (("stdout", report.capstdout), ("stderr", report.capstderr), ("log", report.caplog)):
        SESSION_SCAN.add_text(f"{name} of {report.nodeid} ({report.when})", text)


def finish_session(session: pytest.Session) -> None:
    """Scan everything collected and the session's temporary files; fail the run on a hit."""
    if not SESSION_SCAN.secrets:
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    directory = factory.getbasetemp() if factory is not None else None
    hits = SESSION_SCAN.scan(directory)
    report_hits(session, hits, len(SESSION_SCAN.secrets), len(SESSION_SCAN.haystacks))
