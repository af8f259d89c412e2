"""The domain: managed objects, their attributes, key blocks and formats, lifecycle rules and
cryptographic parameters.

Nothing here imports operations, the message layer or a transport: handlers in
L{kmipd.operations} build on these modules, never the other way round.
"""
