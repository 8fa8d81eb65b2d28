"""What every component of the bank shares and none of them owns.

The system of record, the worker, the gateway, bankctl, the benchmarks and the local runner
(`stack/`) all read the same `BANK_*` variables and speak the same contracts (the live token,
how to wait for a condition). That common ground lives here rather than in `events/`, which is
the event contract on Kafka, or in `stack/`, which is the tool that runs the bank on a
developer's machine: no image of a component needs the runner to learn its configuration, and
`kernel` imports no component.
"""
