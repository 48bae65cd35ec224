"""Stdin in bulk: blocks of lines turned into results, one process or spread over workers.

Imports the core only; what a block's results look like on stdout is decided by the function
the caller hands in.
"""
