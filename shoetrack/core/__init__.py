"""The pure core: plain data and a date in, plain data out.

Nothing in this package reads the clock, files, the database, the environment
or logs; a test enforces that by reading the imports.
"""
