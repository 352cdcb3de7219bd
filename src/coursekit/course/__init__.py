"""The course as its author writes it: reading data (YAML), course settings (course.toml) and the roster.

Plain data and its validation, nothing else. May import: nothing else in coursekit.
"""
