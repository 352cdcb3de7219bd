"""The student notebook: the cell format, widget answers saved in it, quiz grading, building it, its widgets.

May import: ``course``, ``discussion`` (the peer feed widget shows the published feed, safely rendered).
"""
