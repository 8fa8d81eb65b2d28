"""The local stack: installs, starts and supervises every process of the bank on loopback."""
