"""shoetrack: running-shoe wear and training load from your own FIT files."""

__version__ = "0.1.0"
