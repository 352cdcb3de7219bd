"""The student notebook: cell format, saved widget answers, quiz grading, building it, its widgets, its JupyterLab.

The widgets: the activities in ``widgets`` (the one module a notebook imports), answer saving and
restoring in ``recorder``, the peer feed in ``peer_feed``, their browser half in ``frontend``.

May import: ``course``, ``discussion`` (the peer feed widget shows the published feed, safely rendered).
"""
