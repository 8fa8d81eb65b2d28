"""bankctl's commands, one module each: options, the work (elsewhere in ops/) and the output."""
