from stack.cli import app

app()
