"""coursekit: a Jupyter reading companion and class discussion log for reading-and-reflection courses."""

__version__ = "0.1.0"
