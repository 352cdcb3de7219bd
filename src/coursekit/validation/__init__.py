"""The TA's checks of submissions: coursekit's own checks, a sandboxed nbval run, JUnit and CSV reports.

May import: ``course``, ``discussion``, ``notebook``, ``intake``, ``log``. Nothing imports it but the CLI.
"""
