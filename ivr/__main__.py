"""`python -m ivr`: the same as the `ivr` command."""

import sys

from .cli import main

sys.exit(main())
