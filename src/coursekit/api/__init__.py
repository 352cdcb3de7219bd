"""The course as one object: its settings, reading, roster and log, and every operation the CLI runs.

As nbgrader's ``NbGraderAPI`` sits under its apps, ``Course`` sits under the command line and the
review notebook: ``course.toml`` is found one way, here, and each operation returns a plain result
(a dataclass, a DataFrame, a path) that the caller shows as it likes. Nothing here prints; what a
long operation has to say on the way (a warning, where the submissions were found) goes to
``notify``, and per-file progress to the ``progress`` callbacks. Errors meant for a person are
``CoursekitError`` s, with the message the command line prints.

From Python::

    from pathlib import Path
    from coursekit.api import Course
    from coursekit.api.options import CollectOptions, GradesOptions, SourceOptions

    course = Course.open()  # course.toml in the working folder or above it, and its log
    collected = course.collect(course.gather(SourceOptions(Path("downloads/week1.zip"))), CollectOptions())
    print(collected.report.changed, "changed;", len(collected.report.failed), "failed")
    print(course.grades(GradesOptions(out=Path("grades.csv"), allow_unreviewed=True)).waiting, "unscored")
    desk = course.desk()  # the review desk in a notebook
"""

from coursekit.api.course import DEFAULT_DB, Course
from coursekit.api.results import NoCourse, NoLog, Notify, Refused

__all__ = ["DEFAULT_DB", "Course", "NoCourse", "NoLog", "Notify", "Refused"]
