"""The class discussion log: its database schema, ``collect`` into it, DataFrames out of it, exports.

One module per job: ``tables`` (the schema), ``schema`` (versions, opening, upgrading),
``submissions`` (writing one submission), ``files`` (what each collected file was), ``batch``
(many writes per transaction), ``reviews``, ``meta`` (the course secret and feed salts),
``collect`` and ``results`` (its ``Status`` per file), ``frames`` and ``export`` (reading),
``check``, ``moderation``, ``erase``, ``demo``. Readers never write: ``frames``, ``export`` and
``check`` work on a read-only log.

May import: ``course``, ``discussion``, ``notebook``, ``intake``. ``open_log`` is the entry point
instructors type in their notebooks (``from coursekit.log import open_log``).
"""

from coursekit.log.frames import DiscussionLog, open_log

__all__ = ["DiscussionLog", "open_log"]
