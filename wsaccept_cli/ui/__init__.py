"""How results reach people and programs: the environment (streams, terminal, colour, format),
the stdout writer, diagnostics on stderr, and the plain, JSON and rich renderers.

Imports the core (and the data types of `net`); `cli` and `stream` hand it their results.
"""
