"""System of integration: Faust agents that turn the bank's CDC records into business events."""
