"""Network code: it talks to peers and returns what happened as data; it never prints.

Imports the core only.
"""
