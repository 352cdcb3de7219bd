"""``python -m coursekit.cli``: the ``coursekit`` command."""

from coursekit.cli import main

if __name__ == "__main__":  # imported (every module is, by tests/package/test_install.py), it runs nothing
    main()
