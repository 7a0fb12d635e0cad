"""Bounded reads of the files named on the command line: job, config, export and PEM files."""

from __future__ import annotations

from typing import BinaryIO

from kms_key_backup.errors import InvalidInputError

# Every file the CLI reads is small: a job that lists 1,000 key OCIDs takes about 100 KB, an
# export file of an RSA-4096 key about 4 KB. The limit keeps a wrong path, such as /dev/zero or
# a large log file, from filling memory.
MAX_INPUT_FILE_BYTES = 1024 * 1024


def read_bounded(handle: BinaryIO, flag: str, path: str, kind: str) -> bytes:
    """Read an open file whole; raise ``InvalidInputError`` naming ``flag`` if it exceeds the limit."""
    data = handle.read(MAX_INPUT_FILE_BYTES + 1)
    if len(data) > MAX_INPUT_FILE_BYTES:
        raise InvalidInputError(flag, path, f"the file is larger than {MAX_INPUT_FILE_BYTES} bytes",
                                f"Give the path of {kind}.")
    return data
