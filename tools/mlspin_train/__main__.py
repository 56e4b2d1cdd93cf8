"""python3 -m mlspin_train ..."""

import sys

from .cli import main

sys.exit(main())
