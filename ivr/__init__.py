"""The Spasticity Clinic's phone and text line: a Flask app built by create_app().

The factory is imported on first use, so the menu model, the conversation and the `ivr` command
load without Flask.
"""

from __future__ import annotations

__all__ = ["create_app"]


def __getattr__(name: str):
    """`ivr.create_app`, from ivr/factory.py when first asked for."""
    if name == "create_app":
        from .factory import create_app

        return create_app
    raise AttributeError(f"module 'ivr' has no attribute {name!r}")
