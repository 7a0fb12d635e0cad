"""Import ``func.py`` in a fresh process and print the import time and peak RSS as JSON.

Usage: ``python -m benchmarks.import_func PATH/TO/func.py``. fdk loads the handler module by
file path on the first call, so this loads it the same way, with ``importlib`` from its path.
The time covers ``fdk``, ``oci``, ``cryptography`` and the ``kms_key_backup`` modules that
``func.py`` pulls in; interpreter start-up is not included.
"""

import importlib.util
import json
import sys
import time

from benchmarks.engine_run import peak_rss_bytes


def main(func_path: str) -> int:
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("func", func_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import_seconds = time.perf_counter() - started
    if not callable(getattr(module, "handler", None)):
        print(f"{func_path} defines no handler function", file=sys.stderr)
        return 1
    print(json.dumps({"import_seconds": import_seconds,
                      "peak_rss_bytes": peak_rss_bytes(),
                      "modules_loaded": len(sys.modules)}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m benchmarks.import_func PATH/TO/func.py", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
