"""The class discussion as students and the public see it: pseudonyms, safe Markdown, the peer feed, the site.

Pure functions over plain data and DataFrames (the log hands them rows; they never open it).
May import: ``course``.
"""
