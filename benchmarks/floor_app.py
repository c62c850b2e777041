"""Floors for bench_webhooks.py: the least a Flask Twilio webhook does, signature checked or not."""

from __future__ import annotations

import os

from flask import Flask, Response, abort, request
from twilio.request_validator import RequestValidator

TWIML = ('<?xml version="1.0" encoding="UTF-8"?>'
         "<Response><Say>Thank you for calling.</Say></Response>")


def create_app(check_signature: bool = False) -> Flask:
    """A Flask app answering POST /voice with fixed TwiML; 403 on a bad signature if checking."""
    app = Flask(__name__)
    # Built once, as the real app does, so the floor measures validation and not construction.
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])

    @app.post("/voice")
    def voice() -> Response:
        if check_signature and not validator.validate(
            request.url, request.form, request.headers["X-Twilio-Signature"]
        ):
            abort(403)
        return Response(TWIML, mimetype="text/xml")

    return app


def bare_app() -> Flask:
    """The bare floor, as a factory without arguments (for granian's --factory)."""
    return create_app(check_signature=False)


def signed_app() -> Flask:
    """The signed floor, as a factory without arguments (for granian's --factory)."""
    return create_app(check_signature=True)
