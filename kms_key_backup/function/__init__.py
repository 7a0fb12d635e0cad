"""The OCI Function's input handling: configuration, payloads, events, authority and the run.

``func.py`` calls ``handle_invocation`` for each call; the modules here do the rest:

- ``config``: the ``KMS_BACKUP_*`` configuration variables.
- ``payload``: classify a body as a sweep, a scheduled run, a job fragment or a CloudEvent.
- ``authority``: what a payload may change in the configured job.
- ``events``: resolve a key event to the one key to sync.
- ``runtime``: per-container clients, the deadline, the run, the response.
- ``local``: run ``func.py`` through fdk on a unix socket, for tests and the demo.
"""
