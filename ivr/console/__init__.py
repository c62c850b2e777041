"""The staff console at /console (IVR_CONSOLE=1): sign-in, roles, accounts and the audit log, in
the same app and database as the line. init_app(app) is called by create_app only when it is on."""

from __future__ import annotations

from flask import Flask, request
from markupsafe import escape

from .session import PREFIX, is_console_path, sub_key


def content_security_policy(style_src: str = "'self'") -> str:
    """The console's Content-Security-Policy; a page that must have more style sources than 'self'
    (the editor's nonce, the diagram's inline styles) names them, and nothing else changes."""
    return (f"default-src 'self'; script-src 'self'; style-src {style_src}; img-src 'self' data:; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


# Every console response: no inline script or style, no framing, nothing kept in caches.
SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def init_app(app: Flask) -> None:
    """Add the console to the line's app: its blueprint, Flask-Login, CSRF and headers."""
    from ..recordings import Recordings
    from ..review.draft import MAX_DRAFT_BYTES
    from ..storage.accounts import Accounts
    from ..storage.callbacks import Callbacks
    from ..storage.second_factors import SecondFactors
    from . import callbacks, dashboard, editor, simulator, status, two_factor_views, versions  # noqa: F401  (their pages join the blueprint)
    from .auth import EXTENSION, Console, login_manager
    from .views import bp, csrf

    line = app.extensions["ivr"]
    settings = line.settings
    waiting = Callbacks.for_store(line.store, settings.callback_keys) if settings.callback_keys else None
    app.extensions[EXTENSION] = Console(Accounts.for_store(line.store),
                                        idle_seconds=settings.console_idle_minutes * 60,
                                        lifetime_seconds=settings.console_session_hours * 3600,
                                        second_factors=SecondFactors.for_store(line.store,
                                                                               settings.console_key),
                                        callbacks=waiting, recordings=Recordings.from_settings(settings))
    app.config.update(
        # CSRF tokens are signed with a key of the console's own, and checked only on console
        # forms (the webhooks are checked by Twilio's signature instead).
        WTF_CSRF_SECRET_KEY=sub_key(settings.console_key, b"csrf"),
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # a token lasts as long as its session
    )
    # A draft of menus.yaml is posted whole (form-encoded, so up to three bytes a character).
    app.config["IVR_LARGER_BODIES"]["/console/editor"] = 3 * MAX_DRAFT_BYTES + 16 * 1024
    csrf.init_app(app)
    login_manager.init_app(app)

    app.register_blueprint(bp)

    @app.after_request
    def _headers(response):
        if is_console_path(request.path):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/")
    def _front():
        # The line's only page at its root, and only with the console on: where staff sign in.
        page = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Spasticity Clinic '
                f'line</title></head><body><main><h1>Spasticity Clinic line</h1><p><a href="'
                f'{escape(request.script_root)}{PREFIX}/">Staff console</a></p></main></body></html>')
        return page, 200, {"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS}
