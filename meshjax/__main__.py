"""`python -m meshjax ...` is the `meshjax` command."""

import sys

from .cli import main

sys.exit(main())
