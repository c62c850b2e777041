"""The Spasticity Clinic's phone and text line: a Flask app built by create_app()."""

from __future__ import annotations

import os

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from . import logs
from .line import Line
from .lint import lint
from .live_menu import LiveMenu
from .menus import Menu
from .outbound import TextSender
from .settings import StartupError, read_settings
from .store import SqliteStore, StoreError
from .yaml_strict import MenuFileError

# Twilio's largest webhook (a 1,600-character text plus its parameters) is a few kB.
MAX_REQUEST_BYTES = 64 * 1024


class TextingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened only for the texting webhook: calls keep their state
    in the URL, so they neither read nor set a cookie."""

    def open_session(self, app, request):
        """The texting conversation's session; a throwaway one anywhere else."""
        # Opened before the URL is matched to a blueprint, so the path decides.
        if not request.path.startswith("/sms"):
            return self.null_session_class()
        return super().open_session(app, request)

    def get_signing_serializer(self, app):
        """Flask's serializer, built once per app rather than on every request (the key is fixed)."""
        serializer = app.extensions.get("ivr_session_serializer")
        if serializer is None:
            serializer = app.extensions["ivr_session_serializer"] = super().get_signing_serializer(app)
        return serializer


def _store(settings) -> SqliteStore:
    try:
        # Numbers are kept only as keyed hashes; the key is the app's secret.
        return SqliteStore(settings.database, settings.secret_key)
    except StoreError as exc:
        raise StartupError(f"IVR_DATABASE: cannot use {settings.database} ({exc}).") from None


def _sender(settings, menu: Menu, log) -> TextSender | None:
    offers_texts = bool(menu.phrases.get("text_me_key"))
    if not settings.account_sid:
        if offers_texts and not settings.skip_signature_check:
            raise StartupError("menus.yaml offers to send summaries by text, but TWILIO_ACCOUNT_SID is "
                               "not set. Set it to the account SID (AC...) shown in the Twilio Console, "
                               "or remove text_me_key from the phrases in menus.yaml.")
        if offers_texts:
            log.warning("TWILIO_ACCOUNT_SID is not set: 'text me this' will say it cannot send.")
        return None
    # A short timeout: the caller is waiting on the line while the text is sent.
    return TextSender(settings.account_sid, settings.auth_token, settings.api_base_url)


def create_app(test_config: dict[str, str] | None = None) -> Flask:
    """Build the app from the environment (or from `test_config`, a dict of the same variables)."""
    settings = read_settings(os.environ if test_config is None else test_config)
    log = logs.configure(settings.log_level)

    def report_warnings(menu: Menu) -> None:
        for warning in (*menu.warnings, *lint(menu)):
            log.warning("%s", warning)

    try:
        live_menu = LiveMenu(settings.menus_file, settings.reload_seconds, on_load=report_warnings)
    except MenuFileError as exc:
        raise StartupError(
            f"The line cannot start: {len(exc.problems)} problem(s) in {settings.menus_file}:\n"
            f"{exc}"
        ) from None
    if settings.skip_signature_check:
        log.warning("IVR_SKIP_SIGNATURE_CHECK is on: anyone can post to the webhooks. "
                    "Use this for local development only.")

    app = Flask(__name__)
    app.session_interface = TextingSessionInterface()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SESSION_COOKIE_NAME="ivr_sms",
        SESSION_COOKIE_HTTPONLY=True,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)
    app.extensions["ivr"] = Line(live_menu, settings, RequestValidator(settings.auth_token or "unused"),
                                 _store(settings), _sender(settings, live_menu.menu, log))

    from . import health, sms, voice

    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(health.bp)
    return app
