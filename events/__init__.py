"""The event contract shared by the system of integration, the gateway and the ops CLI."""
