"""Constants and helpers shared by the bad-input catalogue and its fixtures."""

import json

SOURCE_REGION = "eu-frankfurt-1"
TARGET_REGION = "eu-stockholm-1"


def write_json(path, document) -> str:
    """Write ``document`` as JSON (a string is written as given) and return the path."""
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)
