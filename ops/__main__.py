"""`python -m ops` is bankctl, for an image or a checkout without the installed script."""

from ops.cli import app

app(prog_name="bankctl")
