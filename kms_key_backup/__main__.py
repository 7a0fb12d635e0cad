"""Run the ``kms-key-backup`` command as ``python -m kms_key_backup``."""

import sys

from kms_key_backup.cli import main

sys.exit(main())
