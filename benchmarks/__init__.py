"""`make bench`: measure kms-key-backup against the service's own throttle limit on the emulator.

``python -m benchmarks`` runs every scenario and writes docs/benchmarks.md; ``--smoke`` runs them
with a few keys and no latency and writes to the path given by ``--output``.
"""
