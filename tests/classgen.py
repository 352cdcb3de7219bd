"""The generated class lives in the package (``coursekit.log.demo``); tests import it from here too."""

import pandas as pd

from coursekit.log.demo import make_class, roster_rows, student_name

__all__ = ["desk_roster", "make_class", "roster_rows", "student_name"]


def desk_roster(students: int) -> pd.DataFrame:
    """The generated roster as ``read_roster`` hands it to the desk: a ``student`` column beside Canvas's own."""
    roster = pd.DataFrame(roster_rows(students))
    roster["student"] = roster["SIS Login ID"]
    return roster
