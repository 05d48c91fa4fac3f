"""The command line: parse arguments, call the service, print the result.

Heavy modules (the FIT decoder, the scheduler, the notifier) are imported
inside the commands that need them, so `shoetrack status` starts fast.
"""

from . import config_cmd, daemon_cmd, data_cmd, doctor_cmd, health, history, report_cmd, shoes  # noqa: F401  (each registers its commands)
from .base import cli, main

__all__ = ["cli", "main"]
