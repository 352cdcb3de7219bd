"""From what instructors download to submissions: finding the files, and extracting one notebook's work.

Reads files; never touches the log. May import: ``course``, ``discussion``, ``notebook``.
"""
