"""The app factory: create_app() builds the Flask app of the line from its settings."""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request
from flask.sessions import SecureCookieSessionInterface, SessionInterface
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from . import logs
from .conversation.ports import Clock
from .conversation.service import Conversation, utc_now
from .conversation.text_me import TextLimits, TextMe
from .line import Line, RecorderEvents
from .live_menu import LiveMenu, last_good_path
from .menufile.yaml_strict import MenuFileError
from .model.menu import Menu
from .review.lint import lint
from .settings import StartupError, read_settings
from .storage import Store, StoreError, StoreKeyMismatch, StoreSchemaBehind, is_sqlite, open_store
from .storage.versions import Versions
from .webhooks.outbound import TextSender
from .webhooks.sealed import Seal
from .webhooks.signature import TokenValidator

# Twilio's largest webhook, a 1,600-character text even in 3-byte characters (percent-encoded, 9
# bytes each) with its thirty-odd parameters, stays under 16 KiB; anything bigger is refused unread.
MAX_REQUEST_BYTES = 16 * 1024
MAX_FORM_PARAMETERS = 200  # Twilio sends about 20, and 20 more for a text with ten pictures
# Twilio keeps an SMS conversation's cookies for four hours of quiet; the cookie lasts as long.
TEXTING_COOKIE_LIFETIME = timedelta(hours=4)


class TextingSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, opened only for the texting webhook: calls keep their state
    in the URL, so they neither read nor set a cookie."""

    def open_session(self, app, request):
        """The texting conversation's session; a throwaway one anywhere else."""
        # Opened before the URL is matched to a blueprint, so the path decides.
        if not request.path.startswith("/sms"):
            return self.null_session_class()
        return super().open_session(app, request)

    def get_cookie_path(self, app):
        """Only the texting webhook gets the cookie back: /sms under the address Twilio uses."""
        return _public_root(app) + "/sms"

    def get_cookie_secure(self, app):
        """Secure whenever Twilio reaches the line over https: a public https address, or https
        as seen through the trusted proxies."""
        return app.config["SESSION_COOKIE_SECURE"] or request.is_secure

    def get_expiration_time(self, app, session):
        """Four hours from the last change, like Twilio's own cookie keeping (the signature's age
        is checked against the same lifetime when the cookie comes back)."""
        return datetime.now(timezone.utc) + app.permanent_session_lifetime

    def get_signing_serializer(self, app):
        """Flask's serializer, built once per app rather than on every request (the key is fixed)."""
        serializer = app.extensions.get("ivr_session_serializer")
        if serializer is None:
            serializer = app.extensions["ivr_session_serializer"] = super().get_signing_serializer(app)
        return serializer


class PathSessionInterface(SessionInterface):
    """The session by path: the console's own cookie session under /console (when it is on), the
    texting one (TextingSessionInterface: /sms only, a throwaway session elsewhere) everywhere else.
    Neither ever reads the other's cookie, and their keys differ."""

    def __init__(self, texting: SessionInterface, console: SessionInterface | None = None):
        self.texting = texting
        self.console = console

    def _for(self, request) -> SessionInterface:
        path = request.path
        if self.console is not None and (path == "/console" or path.startswith("/console/")):
            return self.console
        return self.texting

    def open_session(self, app, request):
        return self._for(request).open_session(app, request)

    def make_null_session(self, app):
        return self.texting.make_null_session(app)

    def is_null_session(self, obj) -> bool:
        return self.texting.is_null_session(obj)

    def save_session(self, app, session, response) -> None:
        self._for(request).save_session(app, session, response)


class _Flask(Flask):
    """Flask, logging an unhandled exception with the request's path escaped (Flask's own message
    would put a path holding CR or LF into the log as it came)."""

    def log_exception(self, exc_info) -> None:
        """The error and its traceback, under the escaped path and method."""
        self.logger.error("Exception on %s [%s]", logs.printable(request.path),
                          logs.printable(request.method, 10), exc_info=exc_info)


def _public_root(app: Flask) -> str:
    """The path in front of the routes in the address Twilio calls ("" at the root)."""
    base = app.extensions["ivr"].settings.public_base_url
    return urlsplit(base).path.rstrip("/") if base else request.script_root


def _limit_form() -> None:
    """Refuse a form with too many parameters before werkzeug parses it (its own limit on
    parts applies to multipart forms only; Twilio posts url-encoded ones). A few console pages
    (config IVR_LARGER_BODIES: path prefix -> bytes) take more than a webhook's 16 KiB."""
    for prefix, limit in current_app.config["IVR_LARGER_BODIES"].items():
        if request.path.startswith(prefix):
            request.max_content_length = request.max_form_memory_size = limit
            break
    if request.mimetype == "application/x-www-form-urlencoded":
        body = request.get_data(cache=True)  # at most MAX_CONTENT_LENGTH; parsed from this copy
        if body.count(b"&") >= MAX_FORM_PARAMETERS:
            abort(413)


def _too_large(error: RequestEntityTooLarge):
    """A short 413, logged with the (escaped) path; never the application's error handlers."""
    logging.getLogger("ivr").warning("refused %s: the request is over %d bytes or %d parameters",
                                     logs.printable(request.path), MAX_REQUEST_BYTES, MAX_FORM_PARAMETERS)
    return "Request too large\n", 413, {"Content-Type": "text/plain; charset=utf-8"}


def _store(settings) -> Store:
    name = "IVR_DATABASE" if is_sqlite(settings.database_url) else "DATABASE_URL"
    try:
        # Numbers are kept only as keyed hashes, under a key derived for that alone.
        return open_store(settings.database_url, settings.number_hash_key)
    except (StoreKeyMismatch, StoreSchemaBehind) as exc:
        raise StartupError(f"{name}: {exc}") from None
    except StoreError as exc:
        raise StartupError(f"{name}: cannot use the line's database ({exc}).") from None


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


def _callback_desk(settings, store: Store, announcer, menu: Menu, log):
    """The callback desk when callback requests are on (IVR_CALLBACK_KEYS), else None."""
    if not settings.callback_keys:
        return None
    from .conversation.callback_desk import CallbackDesk, CallbackLimits
    from .conversation.engine import offers_callbacks
    from .recordings import Recordings
    from .storage.callbacks import Callbacks

    if not offers_callbacks(menu):
        log.warning("IVR_CALLBACK_KEYS is set, but menus.yaml lacks some callback_ phrases: callers "
                    "are not offered callbacks until every one is there (see the shipped menus.yaml).")
    limits = CallbackLimits(settings.callbacks_per_hour, settings.callbacks_per_day,
                            settings.callback_record_seconds, settings.callback_transcribe)
    return CallbackDesk(Callbacks.for_store(store, settings.callback_keys),
                        Recordings.from_settings(settings), announcer, limits)


def create_app(test_config: dict[str, str] | None = None, clock: Clock | None = None) -> Flask:
    """Build the app from the environment (or from `test_config`, a dict of the same variables);
    `clock` tells the time for the clinic's hours (the real time by default)."""
    settings = read_settings(os.environ if test_config is None else test_config)
    log = logs.configure(settings.log_level)

    def report_warnings(menu: Menu) -> None:
        for warning in (*menu.warnings, *lint(menu)):
            log.warning("%s", warning)

    # The last good copy of menus.yaml lives beside the database, in a folder only this user can use.
    last_good = last_good_path(settings.menus_file, settings.database.parent)
    store = _store(settings)
    try:
        # The line serves the newest published version in the database; the deployed file is
        # published first when it is new.
        live_menu = LiveMenu(settings.menus_file, settings.reload_seconds, on_load=report_warnings,
                             last_good=last_good, versions=Versions.for_store(store))
    except MenuFileError as exc:
        raise StartupError(
            f"The line cannot start: {len(exc.problems)} problem(s) in {settings.menus_file}:\n"
            f"{exc}"
        ) from None
    finally:
        # Workers are forked from this process and open their own connections (SqlStore).
        store.close()
    if settings.skip_signature_check:
        log.warning("IVR_SKIP_SIGNATURE_CHECK is on: anyone can post to the webhooks. "
                    "Use this for local development only.")
    if settings.development_key:
        log.warning("IVR_SECRET_KEY is not set: a fixed development key, which is public, signs the "
                    "texting cookie and keys the stored number hashes. Never on a public number.")

    app = _Flask(__name__)
    app.session_interface = TextingSessionInterface()
    app.config.update(
        SECRET_KEY=settings.cookie_key,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        MAX_FORM_PARTS=MAX_FORM_PARAMETERS,
        IVR_LARGER_BODIES={},
        SESSION_COOKIE_NAME="ivr_sms",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=TEXTING_COOKIE_LIFETIME,
    )
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        # With a public base address, the host, port and prefix Twilio used are known: a client's
        # X-Forwarded-Host or -Prefix could only point the signature check at another address.
        m = 0 if settings.public_base_url else n
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=m, x_port=m, x_prefix=m)
    app.before_request(_limit_form)
    app.register_error_handler(RequestEntityTooLarge, _too_large)
    validator = TokenValidator(settings.auth_token or "unused", settings.auth_token_secondary)
    sender = _sender(settings, live_menu.menu, log)
    from .usage import EXTENSION, Recorder

    recorder = app.extensions[EXTENSION] = Recorder(store, settings.event_hash_key,
                                                    retention_days=settings.events_retention_days)
    limits = TextLimits(settings.texts_per_hour, settings.texts_per_day, settings.line_texts_per_hour,
                        settings.line_texts_per_day, settings.line_texts_at_once,
                        settings.text_requires_attestation)
    from .announce import announcer_for

    now = clock or utc_now
    announcer = announcer_for(settings, store, sender, lambda: now().timestamp())
    desk = _callback_desk(settings, store, announcer, live_menu.menu, log)
    conversation = Conversation(TextMe(store, sender, limits), RecorderEvents(recorder), store,
                                clock or utc_now, desk)
    if announcer is not None and not settings.console:
        log.warning("IVR_CALLBACK_NOTIFY is %s but IVR_CONSOLE is off: staff will be told of callback "
                    "requests they cannot open.", settings.callback_notify)
    seal = Seal(settings.callback_seal_key) if desk is not None else None
    app.extensions["ivr"] = Line(live_menu, settings, validator, store, sender, conversation, announcer,
                                 seal)
    from .heartbeat import EXTENSION as HEARTBEAT
    from .heartbeat import Heartbeat
    from .storage.workers import Workers

    # This worker's row in the workers table (the console's status page), kept by a thread of its own
    # that starts with the first request: before_request only checks that it runs.
    heartbeat = app.extensions[HEARTBEAT] = Heartbeat(Workers.for_store(store), live_menu)
    app.before_request(heartbeat.start)

    from . import health
    from .webhooks import sms, voice

    app.register_blueprint(voice.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(health.bp)
    if settings.console:
        from . import console
        from .console.session import ConsoleSessionInterface

        app.session_interface = PathSessionInterface(
            app.session_interface,
            ConsoleSessionInterface(settings.console_key, settings.console_session_hours * 3600))
        console.init_app(app)
    return app
