"""Every environment variable the line reads, defined once with its default and help, read in one place."""

from __future__ import annotations

import hashlib
import hmac
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .storage.urls import DatabaseUrlError, database_url

MAKE_KEY = 'python3 -c "import secrets; print(secrets.token_urlsafe(48))"'
MAKE_CALLBACK_KEY = ('python -c "from cryptography.fernet import Fernet; '
                     'print(Fernet.generate_key().decode())"')


class StartupError(SystemExit):
    """The line cannot start; the message says why and how to fix it (exits without a traceback)."""


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name, its default ("" = none) and what it is for."""

    name: str
    default: str
    help: str


SETTINGS = (
    Setting("TWILIO_AUTH_TOKEN", "",
            "Auth token of the Twilio account that owns the number; every webhook's "
            "X-Twilio-Signature is checked with it. Required: the line will not start without it "
            "unless IVR_SKIP_SIGNATURE_CHECK is 1."),
    Setting("IVR_MENUS_FILE", "menus.yaml", "Path of the menu file the line speaks and texts from."),
    Setting("IVR_PUBLIC_BASE_URL", "",
            "The address Twilio calls, such as https://line.example.org, when it differs from what "
            "the app sees (a proxy that rewrites the host). Signatures are checked against it."),
    Setting("IVR_TRUSTED_PROXIES", "0",
            "How many proxies in front of the app add X-Forwarded-Proto/Host headers that may be "
            "trusted (1 on Heroku or behind one load balancer), so the signed https address is "
            "rebuilt correctly."),
    Setting("IVR_SECRET_KEY", "",
            "At least 32 random bytes (such as the output of " + MAKE_KEY + "), the same on every "
            "worker and kept for good: the texting cookie's key and the key of the phone-number hashes "
            "in IVR_DATABASE are derived from it, each with its own label. Required unless "
            "IVR_SKIP_SIGNATURE_CHECK is 1 on a development machine."),
    Setting("TWILIO_AUTH_TOKEN_SECONDARY", "",
            "While the account's auth token is being changed: the new (secondary) token, so "
            "signatures made with either token are accepted. Empty the rest of the time."),
    Setting("DYNO", "",
            "Set by Heroku on every dyno; the line only looks at it to refuse IVR_SKIP_SIGNATURE_CHECK "
            "there."),
    Setting("IVR_SKIP_SIGNATURE_CHECK", "0",
            "1 turns off signature checking, for local development only; the app logs a warning "
            "on start and /healthz shows it. Refused when TWILIO_ACCOUNT_SID is set (the line could "
            "send texts) or on Heroku (DYNO is set)."),
    Setting("TWILIO_ACCOUNT_SID", "",
            "SID of the Twilio account (AC...), needed to send texts ('text me this'). Required when "
            "menus.yaml offers texts, unless IVR_SKIP_SIGNATURE_CHECK is 1."),
    Setting("TWILIO_API_BASE_URL", "https://api.twilio.com",
            "Where Twilio's REST API is; point it at a test or staging server."),
    Setting("IVR_DATABASE", "ivr.sqlite3",
            "SQLite file shared by every worker: the texting opt-out list and the texts sent. Used "
            "when DATABASE_URL is not set; its folder also holds the last good menus.yaml."),
    Setting("DATABASE_URL", "",
            "The line's database when several machines share it: PostgreSQL, such as "
            "postgresql://user:password@host:5432/name (Heroku Postgres sets it; postgres:// is "
            "accepted), or sqlite:///path/to/file. Empty: the SQLite file IVR_DATABASE. PostgreSQL "
            "is migrated with `ivr db upgrade` (the Procfile's release step)."),
    Setting("IVR_TEXTS_PER_HOUR", "3",
            "How many summaries one caller may get by text in an hour (each at most once a call)."),
    Setting("IVR_LOG_LEVEL", "INFO", "How much the line logs: DEBUG, INFO, WARNING or ERROR."),
    Setting("IVR_RELOAD_SECONDS", "2",
            "How often, at most, each worker asks the database for a newly published menu version "
            "and looks for a changed menu file (one indexed query and a check of the file's date and "
            "size, on the next request); 0 looks on every request."),
    Setting("IVR_TEXTS_PER_DAY", "5",
            "How many summaries one caller may get by text in 24 hours."),
    Setting("IVR_LINE_TEXTS_PER_HOUR", "20",
            "How many 'text me this' texts the whole line may send in an hour, to every caller "
            "together, so spoofed caller IDs cannot spread a flood over many numbers. Once reached, "
            "callers are told to text the summary's word instead, and a warning is logged."),
    Setting("IVR_LINE_TEXTS_PER_DAY", "100",
            "How many 'text me this' texts the whole line may send in 24 hours, to every caller "
            "together."),
    Setting("IVR_TEXT_REQUIRES_ATTESTATION", "A",
            "The carrier's caller-ID attestation (Twilio's StirVerstat) a call needs before the line "
            "texts the number it comes from: A (TN-Validation-Passed-A, the carrier knows the caller "
            "owns the number), B (A or B), C (A, B or C), or none (any call, even unverified: only "
            "for testing). Other callers are told to text the summary's word instead."),
    Setting("IVR_LINE_TEXTS_AT_ONCE", "1",
            "How many 'text me this' sends may wait on Twilio at the same time, across the workers "
            "sharing IVR_DATABASE (each waits 1.5 s at most). A caller who presses meanwhile is told "
            "to text the summary's word instead. Keep it below WEB_CONCURRENCY, so a slow Twilio "
            "never holds every worker."),
    Setting("IVR_EVENTS_RETENTION_DAYS", "400",
            "How many days raw usage events are kept (a whole number, at least 1). Older ones are "
            "deleted once their day is in the daily totals (`ivr usage rollup`, and each worker "
            "hourly), which are kept for good."),
    Setting("IVR_CONSOLE", "0",
            "1 turns on the staff console at /console (sign-in, accounts, audit log), in the same app "
            "and database as the line; off, the line has no staff pages at all."),
    Setting("IVR_CONSOLE_IDLE_MINUTES", "30",
            "How long a console session may sit unused before the staff member must sign in again."),
    Setting("IVR_CONSOLE_SESSION_HOURS", "12",
            "The longest a console session lasts from sign-in, used or not."),
    Setting("IVR_SELF_APPROVAL", "0",
            "1 lets a clinician approve a menu draft they wrote themselves, for a clinic with one "
            "clinician; off, another clinician must. While on, every console page says so."),
    Setting("IVR_CALLBACK_KEYS", "",
            "The keys callback requests' phone numbers are encrypted with: one or more Fernet keys "
            "(make one with " + MAKE_CALLBACK_KEY + "), comma-separated; the first encrypts, all "
            "decrypt. Never derived from IVR_SECRET_KEY. Empty: callback requests are off and nothing "
            "is stored. To rotate: put a new key first, run `ivr callbacks rekey`, then drop the old one."),
    Setting("IVR_CALLBACKS_CLOSED_DAYS", "30",
            "How many days a callback request (and its recording at Twilio) is kept after it is closed "
            "(done or could not reach); `ivr callbacks purge` deletes it then."),
    Setting("IVR_CALLBACKS_MAX_DAYS", "90",
            "The most days a callback request (and its recording) is kept, whatever its state."),
    Setting("IVR_CALLBACK_RECORD_SECONDS", "60",
            "The longest message (in seconds, 10 to 300) a family may leave after asking to be called back."),
    Setting("IVR_CALLBACK_TRANSCRIBE", "0",
            "1 has Twilio transcribe callback messages, only for a clinic whose agreement with Twilio "
            "covers it; off by default."),
    Setting("IVR_CALLBACKS_PER_HOUR", "30",
            "How many new callback requests the whole line takes in an hour; beyond it, families are "
            "given the scheduling number."),
    Setting("IVR_CALLBACKS_PER_DAY", "200",
            "How many new callback requests the whole line takes in 24 hours."),
    Setting("IVR_CALLBACK_NOTIFY", "none",
            "How staff hear of a new callback request: none, email (IVR_SMTP_*) or text (to "
            "IVR_CALLBACK_NOTIFY_TEXT_TO from IVR_LINE_NUMBER). The message says how many requests "
            "are waiting and links to the console; it never names a family."),
    Setting("IVR_CALLBACK_NOTIFY_MINUTES", "10",
            "At most one announcement in this many minutes, across the workers sharing the database "
            "(0: one for every new request)."),
    Setting("IVR_CALLBACK_NOTIFY_TEXT_TO", "",
            "The staff phone that announcements are texted to (IVR_CALLBACK_NOTIFY=text): a US or "
            "Canadian number in E.164, such as +15025550123."),
    Setting("IVR_LINE_NUMBER", "",
            "The line's own Twilio number, in E.164, that announcements to staff are texted from."),
    Setting("IVR_SMTP_HOST", "",
            "The mail server announcements are sent through (IVR_CALLBACK_NOTIFY=email)."),
    Setting("IVR_SMTP_PORT", "",
            "The mail server's port; empty: 587 with starttls, 465 with ssl, 25 with none."),
    Setting("IVR_SMTP_SECURITY", "starttls",
            "How the connection to the mail server is protected: starttls (upgrade a plain "
            "connection), ssl (TLS from the start) or none (only for a server on the same machine or "
            "a test; refused with a password)."),
    Setting("IVR_SMTP_USER", "", "The mail server's user name, if it asks for one."),
    Setting("IVR_SMTP_PASSWORD", "",
            "The mail server's password (with IVR_SMTP_USER). A secret: never logged or shown."),
    Setting("IVR_SMTP_FROM", "", "The address announcements come from, such as line@clinic.example.org."),
    Setting("IVR_SMTP_TO", "",
            "Where announcements are emailed: one or more addresses, comma-separated."),
)

_TRUE = {"1", "true", "yes", "on"}
# Labels of the keys derived from IVR_SECRET_KEY: one key per purpose, so a value made with one can
# never be checked or matched with the other. The hash label is the one the store has always used.
COOKIE_KEY_LABEL = b"ivr sms session cookie"
NUMBER_HASH_KEY_LABEL = b"ivr store phone number hash"
EVENT_HASH_KEY_LABEL = b"ivr usage event sid hash"
CONSOLE_KEY_LABEL = b"ivr staff console session cookie"
CALLBACK_SEAL_KEY_LABEL = b"ivr callback number sealed in a call's urls"
# Only with IVR_SKIP_SIGNATURE_CHECK and no IVR_SECRET_KEY: public, so never fit for a real line.
DEVELOPMENT_KEY = "ivr local development only: not a secret"
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}


@dataclass(frozen=True)
class Settings:
    """The line's configuration, read and checked once at start."""

    auth_token: str
    menus_file: Path
    public_base_url: str
    trusted_proxies: int
    cookie_key: bytes  # signs the texting cookie
    number_hash_key: bytes  # keys the phone-number hashes in IVR_DATABASE
    development_key: bool  # no IVR_SECRET_KEY, signature check skipped: the public development key
    auth_token_secondary: str
    skip_signature_check: bool
    log_level: str
    reload_seconds: float
    account_sid: str
    api_base_url: str
    database: Path
    texts_per_hour: int
    texts_per_day: int = 5
    line_texts_per_hour: int = 20
    line_texts_per_day: int = 100
    text_requires_attestation: str = "A"  # A, B, C or none
    line_texts_at_once: int = 1
    database_url: str = ""  # the SQLAlchemy URL of the store: DATABASE_URL, or the file IVR_DATABASE
    event_hash_key: bytes = b""  # keys the call and text SID hashes of the usage events
    events_retention_days: int = 400
    console: bool = False  # IVR_CONSOLE: the staff console at /console
    console_key: bytes = b""  # signs the console's cookie and CSRF tokens, never the texting cookie
    console_idle_minutes: int = 30
    console_session_hours: int = 12
    self_approval: bool = False  # IVR_SELF_APPROVAL: a clinician may approve their own draft
    callback_keys: tuple[str, ...] = ()  # IVR_CALLBACK_KEYS: Fernet keys, the first encrypts; () = off
    callbacks_closed_days: int = 30
    callbacks_max_days: int = 90
    callback_record_seconds: int = 60
    callback_transcribe: bool = False
    callbacks_per_hour: int = 30
    callbacks_per_day: int = 200
    callback_seal_key: bytes = b""  # seals a keyed callback number in a call's URLs (Fernet)
    callback_notify: str = "none"  # IVR_CALLBACK_NOTIFY: none, email or text
    callback_notify_minutes: int = 10
    callback_notify_text_to: str = ""  # E.164 staff number
    line_number: str = ""  # E.164, the line's own Twilio number
    smtp: SmtpSettings | None = None  # with IVR_CALLBACK_NOTIFY=email only


@dataclass(frozen=True)
class SmtpSettings:
    """The mail server that announcements go through."""

    host: str
    port: int
    security: str  # starttls, ssl or none
    user: str
    password: str = field(repr=False)  # a secret: kept out of every repr, and so out of logs
    sender: str = ""
    recipients: tuple[str, ...] = ()


def menus_file(environ: Mapping[str, str]) -> Path:
    """The menu file named by IVR_MENUS_FILE, or its default (the `ivr` command needs only this)."""
    default = next(s.default for s in SETTINGS if s.name == "IVR_MENUS_FILE")
    return Path(environ.get("IVR_MENUS_FILE", "").strip() or default)


def read_settings(environ: Mapping[str, str]) -> Settings:
    """Build Settings from `environ`, or raise StartupError naming the variable to fix."""
    values = {s.name: (environ.get(s.name) or s.default).strip() for s in SETTINGS}
    skip = values["IVR_SKIP_SIGNATURE_CHECK"].lower() in _TRUE
    token = values["TWILIO_AUTH_TOKEN"]
    if not token and not skip:
        raise StartupError(
            "TWILIO_AUTH_TOKEN is not set, so the line cannot check that requests come from "
            "Twilio. Set it to the auth token shown in the Twilio Console (Account > API keys & "
            "tokens). For local development only, set IVR_SKIP_SIGNATURE_CHECK=1 instead."
        )
    if skip and values["TWILIO_ACCOUNT_SID"]:
        raise StartupError(
            "IVR_SKIP_SIGNATURE_CHECK is on while TWILIO_ACCOUNT_SID is set: anyone could make the "
            "line send texts. Remove IVR_SKIP_SIGNATURE_CHECK (and set TWILIO_AUTH_TOKEN), or, on a "
            "development machine, leave TWILIO_ACCOUNT_SID unset.")
    if skip and values["DYNO"]:
        raise StartupError(
            "IVR_SKIP_SIGNATURE_CHECK is on, on Heroku (DYNO is set): anyone could post to the line's "
            "webhooks. Remove it: heroku config:unset IVR_SKIP_SIGNATURE_CHECK")
    secret = values["IVR_SECRET_KEY"]
    if secret:
        problem = secret_key_problem(secret)
        if problem:
            raise StartupError(f"IVR_SECRET_KEY {problem}. It must be at least 32 random bytes; make one "
                               f"with: {MAKE_KEY}")
    elif not skip:
        raise StartupError(
            "IVR_SECRET_KEY is not set. It keys the phone-number hashes of the line's opt-out list "
            f"and signs the texting cookie. Make one with: {MAKE_KEY} and set the same value on every "
            "worker; keep it (a new key empties the line's opt-out list).")
    proxies = int(_number(values, "IVR_TRUSTED_PROXIES", int, 0, 5))
    base = values["IVR_PUBLIC_BASE_URL"].rstrip("/")
    if base and not base.startswith(("https://", "http://")):
        raise StartupError("IVR_PUBLIC_BASE_URL must be a full address starting with https:// "
                           f"(or http:// when testing locally); it is {base!r}.")
    level = values["IVR_LOG_LEVEL"].upper()
    if level not in _LOG_LEVELS:
        raise StartupError(f"IVR_LOG_LEVEL must be one of {', '.join(sorted(_LOG_LEVELS))}.")
    reload_seconds = _number(values, "IVR_RELOAD_SECONDS", float, 0, 3600)
    secret = secret or DEVELOPMENT_KEY
    try:
        url = database_url(values["DATABASE_URL"], values["IVR_DATABASE"])
    except DatabaseUrlError as exc:
        raise StartupError(str(exc)) from None
    return Settings(
        auth_token=token,
        menus_file=menus_file(environ),
        public_base_url=base,
        trusted_proxies=proxies,
        cookie_key=derive_key(secret, COOKIE_KEY_LABEL),
        number_hash_key=derive_key(secret, NUMBER_HASH_KEY_LABEL),
        development_key=secret == DEVELOPMENT_KEY,
        auth_token_secondary=values["TWILIO_AUTH_TOKEN_SECONDARY"] if token else "",
        skip_signature_check=skip,
        log_level=level,
        reload_seconds=reload_seconds,
        account_sid=values["TWILIO_ACCOUNT_SID"],
        api_base_url=values["TWILIO_API_BASE_URL"].rstrip("/"),
        database=Path(values["IVR_DATABASE"]),
        texts_per_hour=int(_number(values, "IVR_TEXTS_PER_HOUR", int, 0, 100)),
        texts_per_day=int(_number(values, "IVR_TEXTS_PER_DAY", int, 0, 1000)),
        line_texts_per_hour=int(_number(values, "IVR_LINE_TEXTS_PER_HOUR", int, 0, 100000)),
        line_texts_per_day=int(_number(values, "IVR_LINE_TEXTS_PER_DAY", int, 0, 1000000)),
        text_requires_attestation=_attestation(values["IVR_TEXT_REQUIRES_ATTESTATION"]),
        line_texts_at_once=int(_number(values, "IVR_LINE_TEXTS_AT_ONCE", int, 0, 100)),
        database_url=url,
        event_hash_key=derive_key(secret, EVENT_HASH_KEY_LABEL),
        events_retention_days=events_retention_days(environ),
        console=values["IVR_CONSOLE"].lower() in _TRUE,
        console_key=derive_key(secret, CONSOLE_KEY_LABEL),
        console_idle_minutes=int(_number(values, "IVR_CONSOLE_IDLE_MINUTES", int, 1, 24 * 60)),
        console_session_hours=int(_number(values, "IVR_CONSOLE_SESSION_HOURS", int, 1, 24 * 30)),
        self_approval=values["IVR_SELF_APPROVAL"].lower() in _TRUE,
        callback_keys=callback_keys(values["IVR_CALLBACK_KEYS"]),
        callbacks_closed_days=int(_number(values, "IVR_CALLBACKS_CLOSED_DAYS", int, 1, 3650)),
        callbacks_max_days=int(_number(values, "IVR_CALLBACKS_MAX_DAYS", int, 1, 3650)),
        callback_record_seconds=int(_number(values, "IVR_CALLBACK_RECORD_SECONDS", int, 10, 300)),
        callback_transcribe=values["IVR_CALLBACK_TRANSCRIBE"].lower() in _TRUE,
        callbacks_per_hour=int(_number(values, "IVR_CALLBACKS_PER_HOUR", int, 0, 10000)),
        callbacks_per_day=int(_number(values, "IVR_CALLBACKS_PER_DAY", int, 0, 100000)),
        callback_seal_key=derive_key(secret, CALLBACK_SEAL_KEY_LABEL),
        **_announcing(values),
    )


NOTIFY_CHOICES = ("none", "email", "text")
SMTP_SECURITY = {"starttls": 587, "ssl": 465, "none": 25}  # each way's usual port


def _announcing(values: Mapping[str, str]) -> dict[str, object]:
    """The IVR_CALLBACK_NOTIFY settings, checked together: a choice that cannot work stops the start."""
    choice = values["IVR_CALLBACK_NOTIFY"].lower()
    if choice not in NOTIFY_CHOICES:
        raise StartupError(f"IVR_CALLBACK_NOTIFY must be none, email or text (it is "
                           f"{values['IVR_CALLBACK_NOTIFY']!r}).")
    chosen: dict[str, object] = {
        "callback_notify": choice,
        "callback_notify_minutes": int(_number(values, "IVR_CALLBACK_NOTIFY_MINUTES", int, 0, 24 * 60))}
    if choice == "none":
        return chosen
    if not values["IVR_CALLBACK_KEYS"]:
        raise StartupError(f"IVR_CALLBACK_NOTIFY is {choice}, but callback requests are off "
                           "(IVR_CALLBACK_KEYS is not set), so there is nothing to announce. Set "
                           "IVR_CALLBACK_KEYS, or IVR_CALLBACK_NOTIFY=none.")
    if choice == "text":
        chosen["callback_notify_text_to"] = _staff_number(values, "IVR_CALLBACK_NOTIFY_TEXT_TO",
                                                          "the staff phone to text")
        chosen["line_number"] = _staff_number(values, "IVR_LINE_NUMBER", "the line's own Twilio number")
        if not values["TWILIO_ACCOUNT_SID"]:
            raise StartupError("IVR_CALLBACK_NOTIFY is text, but TWILIO_ACCOUNT_SID is not set, so no "
                               "text can be sent. Set it to the account SID (AC...) shown in the Twilio "
                               "Console, or choose IVR_CALLBACK_NOTIFY=email or none.")
        return chosen
    chosen["smtp"] = _smtp(values)
    return chosen


def _staff_number(values: Mapping[str, str], name: str, what: str) -> str:
    """The setting `name` as a textable US or Canadian number in E.164, or a StartupError."""
    from .model.phone import is_textable_caller

    number = values[name]
    if not is_textable_caller(number):
        # The value is staff's own number, not a family's; still, only whether it is set is said.
        state = "is not set" if not number else "is not a US or Canadian phone number in E.164"
        raise StartupError(f"IVR_CALLBACK_NOTIFY is text, but {name} ({what}) {state}. Write it as "
                           "+1 and ten digits, such as +15025550123.")
    return number


def _smtp(values: Mapping[str, str]) -> SmtpSettings:
    """The IVR_SMTP_* settings for IVR_CALLBACK_NOTIFY=email, or a StartupError naming what is missing."""
    from email.utils import parseaddr

    missing = [n for n in ("IVR_SMTP_HOST", "IVR_SMTP_FROM", "IVR_SMTP_TO") if not values[n]]
    if missing:
        raise StartupError(f"IVR_CALLBACK_NOTIFY is email, but {' and '.join(missing)} "
                           f"{'is' if len(missing) == 1 else 'are'} not set: the mail server, the "
                           "address announcements come from, and where they go are all needed.")
    security = values["IVR_SMTP_SECURITY"].lower()
    if security not in SMTP_SECURITY:
        raise StartupError(f"IVR_SMTP_SECURITY must be starttls, ssl or none (it is "
                           f"{values['IVR_SMTP_SECURITY']!r}).")
    port = SMTP_SECURITY[security]
    if values["IVR_SMTP_PORT"]:
        port = int(_number(values, "IVR_SMTP_PORT", int, 1, 65535))
    user, password = values["IVR_SMTP_USER"], values["IVR_SMTP_PASSWORD"]
    if bool(user) != bool(password):
        raise StartupError("IVR_SMTP_USER and IVR_SMTP_PASSWORD go together: set both, or neither for "
                           "a server that needs no sign-in.")
    if password and security == "none":
        raise StartupError("IVR_SMTP_SECURITY is none while IVR_SMTP_PASSWORD is set: the password "
                           "would cross the network in clear. Use starttls or ssl.")
    addresses = {"IVR_SMTP_FROM": [values["IVR_SMTP_FROM"]],
                 "IVR_SMTP_TO": [a.strip() for a in values["IVR_SMTP_TO"].split(",") if a.strip()]}
    for name, written in addresses.items():
        for position, address in enumerate(written, 1):
            # A bare address only: no display name, and no CR or LF that could add a header.
            if parseaddr(address)[1] != address or address.count("@") != 1 or \
                    any(c.isspace() or c in "<>,;" for c in address):
                raise StartupError(f"{name}: address {position} is not a plain email address such as "
                                   "staff@clinic.example.org.")
    return SmtpSettings(host=values["IVR_SMTP_HOST"], port=port, security=security, user=user,
                        password=password, sender=values["IVR_SMTP_FROM"],
                        recipients=tuple(addresses["IVR_SMTP_TO"]))


def callback_keys(value: str) -> tuple[str, ...]:
    """IVR_CALLBACK_KEYS as a tuple of Fernet keys (the first encrypts), () when empty, or a
    StartupError naming the malformed one by its position (never quoting it)."""
    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    if not keys:
        return ()
    from cryptography.fernet import Fernet  # only when callback requests are on

    for position, key in enumerate(keys, 1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise StartupError(f"IVR_CALLBACK_KEYS: key {position} of {len(keys)} is not a Fernet key "
                               "(32 bytes in URL-safe base64, 44 characters). Make one with: "
                               f"{MAKE_CALLBACK_KEY}") from None
    return keys


def events_retention_days(environ: Mapping[str, str]) -> int:
    """IVR_EVENTS_RETENTION_DAYS as a whole number of days from 1 (`ivr usage rollup` needs only this)."""
    name = "IVR_EVENTS_RETENTION_DAYS"
    value = (environ.get(name) or next(s.default for s in SETTINGS if s.name == name)).strip()
    return int(_number({name: value}, name, int, 1, 36500))


ATTESTATION_LEVELS = ("A", "B", "C", "none")


def _attestation(value: str) -> str:
    """IVR_TEXT_REQUIRES_ATTESTATION as A, B, C or none, or a StartupError."""
    level = value.upper() if value.upper() in ("A", "B", "C") else value.lower()
    if level not in ATTESTATION_LEVELS:
        raise StartupError(f"IVR_TEXT_REQUIRES_ATTESTATION must be A, B, C or none (it is {value!r}).")
    return level


def _number(values: Mapping[str, str], name: str, kind: type, low: float, high: float) -> float:
    """The setting `name` as a number from `low` to `high`, or a StartupError naming it."""
    try:
        number = kind(values[name])
        if low <= number <= high:
            return number
    except ValueError:
        pass
    raise StartupError(f"{name} must be a {'whole ' if kind is int else ''}number from {low} to "
                       f"{high} (it is {values[name]!r}).")


def derive_key(secret: str, label: bytes) -> bytes:
    """The key for one purpose (`label`), derived from IVR_SECRET_KEY: HMAC-SHA256 of the label under
    the secret, so one derived key tells nothing about the secret or about another derived key."""
    return hmac.new(secret.encode(), label, hashlib.sha256).digest()


_HEX = frozenset(string.hexdigits)
_BITS_NEEDED = 256


def secret_key_problem(value: str) -> str | None:
    """Why `value` is not fit to be IVR_SECRET_KEY (too short or obviously not random), or None.

    Judged by its alphabet: hex digits carry 4 bits each, anything else (base64, letters, a
    password generator's output) is counted at 6 bits a character, as base64 would be. So 64 hex
    digits or 43 other characters hold 32 bytes. Patterns are refused too: few different
    characters, one character making up a quarter of the value, a repeated sequence, a run such
    as "abcdef". A random key of the recommended sizes passes these with near certainty.
    """
    characters = value.rstrip("=")  # base64 padding carries nothing
    bits = (4 if set(characters) <= _HEX else 6) * len(characters)
    if bits < _BITS_NEEDED:
        return f"is too short ({len(value)} characters, about {bits // 8} random bytes)"
    if len(set(characters)) < 10:
        return f"is made of only {len(set(characters))} different characters"
    if max(map(characters.count, set(characters))) * 4 > len(characters):
        return "is mostly one character repeated"
    if any(characters[p:] == characters[:-p] for p in range(1, len(characters) // 2 + 1)):
        return "is a sequence repeated, not random"
    steps = sum(abs(ord(b) - ord(a)) == 1 for a, b in zip(characters, characters[1:], strict=False))
    if steps * 2 > len(characters) - 1:
        return "runs through the alphabet (like abcdef), not random"
    return None
