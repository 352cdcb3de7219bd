"""``python -m coursekit.cli``: the ``coursekit`` command."""

from coursekit.cli import main

main()
