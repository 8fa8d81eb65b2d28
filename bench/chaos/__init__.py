"""Fault injection: crash or freeze one component of the running bank while clerks book changes
and customers watch, then prove that nothing was lost, duplicated or shown wrong.

`python -m bench.chaos` (or `make chaos`) runs several rounds of each fault and prints a table; the
integration tests under tests/integration/chaos/ run one round of each with the same code.
"""
