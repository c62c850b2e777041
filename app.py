"""Entry point for the web server (see Procfile): the line as a WSGI app."""
from ivr import create_app

app = create_app()
