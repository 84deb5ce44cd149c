"""``python -m nodes.cli``: the same as the ``armsledger`` command."""
import sys

from nodes.cli.main import main

sys.exit(main())
