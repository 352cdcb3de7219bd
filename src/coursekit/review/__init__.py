"""The instructor's side of a term: the review desk, grades, feedback pages and the participation report.

May import: ``course``, ``discussion``, ``notebook``, ``intake``, ``log``.
"""

TEMPLATES = __name__  # feedback pages and the report: review/templates/, extending discussion's base.html
