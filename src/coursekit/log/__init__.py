"""The class discussion log: its database schema, ``collect`` into it, DataFrames out of it, exports.

May import: ``course``, ``discussion``, ``notebook``, ``intake``. ``open_log`` is the entry point
instructors type in their notebooks (``from coursekit.log import open_log``).
"""

from coursekit.log.frames import DiscussionLog, open_log

__all__ = ["DiscussionLog", "open_log"]
