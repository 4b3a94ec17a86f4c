"""`python -m server` is the `halyq` command."""

import sys

from server.cli import main

sys.exit(main())
