"""``python -m bookkit.cli <subcommand>``: the same as the ``bookkit`` command."""

import sys

from bookkit.cli import main

sys.exit(main())
