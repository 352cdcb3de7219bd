"""The generated class lives in the package (``coursekit.log.demo``); tests import it from here too."""

from coursekit.log.demo import make_class, roster_rows, student_name

__all__ = ["make_class", "roster_rows", "student_name"]
