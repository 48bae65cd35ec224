"""The pure core: key math, results, the handshake model and its parsers, the rules and the
diagnosis. No click, no rich, no I/O of its own: input arrives as bytes or through a read
function, and everything returns values. The other layers import from here, never the reverse.
"""
