"""``python -m engine.simulator [--http PORT] [--state FILE]``, as ``km-actions simulator``."""

import sys

from engine.cli import main

sys.exit(main(["simulator", *sys.argv[1:]]))
