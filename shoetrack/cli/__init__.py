"""The command line: parse arguments, call the service, print the result.

Heavy modules (the FIT decoder, the scheduler, the notifier) are imported
inside the commands that need them, and each command's own module only when
it is run (base.py, `cli.lazy`), so `shoetrack status` and `shoetrack import`
start fast.
"""

from .base import cli, main

__all__ = ["cli", "main"]
