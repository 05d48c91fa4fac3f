"""Thin adapters, one per outside library or resource: FIT decoding (fitparse),
storage (sqlite-utils), finding files and archives (the file system)."""
