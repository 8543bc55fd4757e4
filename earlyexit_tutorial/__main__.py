"""`python -m earlyexit_tutorial`: run the guide's example headless."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
