"""``python -m wsi2rek``: the same as the ``wsi2rek`` command."""

import sys

from wsi2rek.cli import main

sys.exit(main())
