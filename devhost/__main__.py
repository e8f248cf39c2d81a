"""Entry point of `python -m devhost`."""

import logging
import os
import sys

from devhost.host import main

code = main()
# Activity, timer and HTTP function threads may still be running user code: like the Functions
# host stopping its language worker, leave them rather than wait for them at interpreter exit.
logging.shutdown()
sys.stdout.flush()
sys.stderr.flush()
os._exit(code)
