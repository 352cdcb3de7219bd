"""From what instructors download to submissions: finding the files, extracting one notebook's work, and
reading many at once in worker processes.

Reads files; never touches the log. May import: ``course``, ``discussion``, ``notebook``.
"""
