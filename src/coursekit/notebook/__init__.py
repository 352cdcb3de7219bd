"""The student notebook: cell format, saved widget answers, quiz grading, building it, its widgets, its JupyterLab.

May import: ``course``, ``discussion`` (the peer feed widget shows the published feed, safely rendered).
"""
