"""The store's tables, as SQLAlchemy Core sees them (the migrations in migrations/ create them)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text, false, text

metadata = MetaData()

# name -> value: the fingerprint of the key the numbers are hashed with ("key").
meta = Table("meta", metadata,
             Column("name", Text, primary_key=True),
             Column("value", Text, nullable=False))

# Numbers that texted STOP, as keyed hashes.
opt_outs = Table("opt_outs", metadata,
                 Column("number_hash", Text, primary_key=True),
                 Column("since", Float, nullable=False))

# Texts sent in the last day. call_sid holds a keyed hash of "CallSid/node" and node is "": which
# summary a family asked for is theirs.
texts = Table("texts", metadata,
              Column("call_sid", Text, primary_key=True),
              Column("node", Text, primary_key=True),
              Column("caller_hash", Text, nullable=False),
              Column("sent_at", Float, nullable=False),
              Index("texts_by_caller", "caller_hash", "sent_at"),
              Index("texts_by_age", "sent_at"))

# Sends waiting on Twilio now (IVR_LINE_TEXTS_AT_ONCE).
sending = Table("sending", metadata,
                Column("call_sid", Text, primary_key=True),
                Column("node", Text, primary_key=True),
                Column("started_at", Float, nullable=False))

# Usage events (ivr usage): what happened on the line, never who. subject is a keyed hash of the call's
# or text's SID; node, language, outcome and value (a duration or a segment count) say the rest.
events = Table("events", metadata,
               Column("id", Integer, primary_key=True, autoincrement=True),
               Column("at", Float, nullable=False),
               Column("day", Text, nullable=False),
               Column("kind", Text, nullable=False),
               Column("subject", Text, nullable=False),
               Column("node", Text),
               Column("language", Text),
               Column("outcome", Text),
               Column("value", Integer),
               Column("rolled", Integer),  # 1 once the event is in its day's usage_days totals
               # Covering indexes for `ivr usage`: its GROUP BY, and each call's events in order.
               Index("events_for_report", "day", "kind", "node", "language", "outcome", "value"),
               Index("events_by_call", "kind", "subject", "at", "node", "day"),
               Index("events_unrolled", "day", "kind", "subject", sqlite_where=text("rolled IS NULL"),
                     postgresql_where=text("rolled IS NULL")))

# Daily usage totals (ivr usage rollup), kept for good: part is the JSON of the report's per-day part
# for that UTC day, exactly as computed from its raw events. raw_kept is 0 once retention deleted them.
usage_days = Table("usage_days", metadata,
                   Column("day", Text, primary_key=True),
                   Column("part", Text, nullable=False),
                   Column("rolled_at", Float, nullable=False),
                   Column("raw_kept", Integer, nullable=False, server_default="1"))

# Staff console accounts (ivr users, /console/accounts). username is kept lower-case: names are
# case-insensitive. password_hash is argon2id; failed_count and locked_until are the lock-out.
users = Table("users", metadata,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("username", Text, nullable=False, unique=True),
              Column("role", Text, nullable=False),
              Column("password_hash", Text, nullable=False),
              Column("disabled", Boolean, nullable=False, server_default=false()),
              Column("failed_count", Integer, nullable=False, server_default="0"),
              Column("locked_until", Float),
              Column("created", Float, nullable=False),
              Column("password_changed", Float, nullable=False))

# Console sessions: a SHA-256 of the random id the cookie holds (never the id itself).
console_sessions = Table("console_sessions", metadata,
                         Column("id_hash", Text, primary_key=True),
                         Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
                         Column("created", Float, nullable=False),
                         Column("last_seen", Float, nullable=False),
                         Column("revoked", Boolean, nullable=False, server_default=false()),
                         Index("console_sessions_by_user", "user_id"))

# The console's audit log: who (a username) did what, to what; never a phone number or a message.
audit = Table("audit", metadata,
              Column("id", Integer, primary_key=True, autoincrement=True),
              Column("at", Float, nullable=False),
              Column("actor", Text, nullable=False),
              Column("action", Text, nullable=False),
              Column("subject", Text, nullable=False, server_default=""),
              Column("detail", Text, nullable=False, server_default=""),
              Index("audit_by_time", "at"))

# The workers serving the line, each writing its own row now and then: the console's status page
# lists the menu each one serves. menu_loaded is ISO 8601 (UTC), menu_error the problems of a file
# that worker could not load ("" when none).
workers = Table("workers", metadata,
                Column("id", Text, primary_key=True),
                Column("host", Text, nullable=False),
                Column("pid", Integer, nullable=False),
                Column("started", Float, nullable=False),
                Column("seen", Float, nullable=False),
                Column("menu_sha256", Text, nullable=False),
                Column("menu_loaded", Text, nullable=False),
                Column("menu_error", Text, nullable=False, server_default=""),
                Index("workers_by_seen", "seen"))

# Every version of menus.yaml (ivr versions): id is the version's number, yaml its text exactly as
# written (sha256 is of its UTF-8 bytes), source where it came from ("deployed file", "cli",
# "console"), state draft, approved, published or retired (at most one published: the one the line
# serves). base_id is the version a console draft was started from.
menu_versions = Table("menu_versions", metadata,
                      Column("id", Integer, primary_key=True, autoincrement=True),
                      Column("yaml", Text, nullable=False),
                      Column("sha256", Text, nullable=False),
                      Column("created", Float, nullable=False),
                      Column("created_by", Text, nullable=False),
                      Column("source", Text, nullable=False),
                      Column("state", Text, nullable=False),
                      Column("approved_by", Text),
                      Column("approved_at", Float),
                      Column("published_at", Float),
                      Column("published_by", Text),
                      Column("note", Text, nullable=False, server_default=""),
                      Column("base_id", Integer, ForeignKey("menu_versions.id")),
                      # Everyone who saved a draft (usernames, comma-separated; they hold no commas):
                      # none of them may approve it. updated: when it was last saved.
                      Column("authors", Text, nullable=False, server_default=""),
                      Column("updated", Float),
                      Index("menu_versions_by_sha256", "sha256"),
                      # The line's one published version, found by the cheap query every worker
                      # makes every IVR_RELOAD_SECONDS; a second published row is refused.
                      Index("menu_versions_one_published", "state", unique=True,
                            sqlite_where=text("state = 'published'"),
                            postgresql_where=text("state = 'published'")))

# Callback requests (ivr callbacks): the first thing the line keeps that identifies a family.
# number_hash is the store's keyed hash of the number (one open request per number is found by it);
# number_encrypted a Fernet token of the number (IVR_CALLBACK_KEYS), which staff must dial.
# number_verified: carrier-attested or sent by text, rather than keyed in. reason: closed, busy,
# no_answer, failed, retries or text; topics: the node ids listened to, comma-separated.
# recording_sid: the family's message, which stays at Twilio. status: new, in_progress, done or
# unreachable; taken_by is the username who took it. Deleted by `ivr callbacks purge`.
callbacks = Table("callbacks", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("number_hash", Text, nullable=False),
                  Column("number_encrypted", Text, nullable=False),
                  Column("number_verified", Boolean, nullable=False, server_default=false()),
                  Column("language", Text, nullable=False),
                  Column("reason", Text, nullable=False),
                  Column("topics", Text, nullable=False, server_default=""),
                  Column("recording_sid", Text),
                  Column("created", Float, nullable=False),
                  Column("updated", Float, nullable=False),
                  Column("status", Text, nullable=False, server_default="new"),
                  Column("taken_by", Text),
                  Column("note", Text, nullable=False, server_default=""),
                  Column("closed_at", Float),
                  # When the family last asked (an ask that may replace the message): a recording
                  # callback of an older ask never replaces a newer message. NULL: from before 0010.
                  Column("asked", Float),
                  # A number's open request, found on every new request; at most one is refused.
                  Index("callbacks_open_by_number", "number_hash", unique=True,
                        sqlite_where=text("status IN ('new', 'in_progress')"),
                        postgresql_where=text("status IN ('new', 'in_progress')")),
                  # The purge's two questions: closed long ago, or created long ago.
                  Index("callbacks_by_closed", "closed_at"),
                  Index("callbacks_by_created", "created"),
                  # SQLite: ids are never reused after a purge, so a late callback or the audit log's
                  # "callback request N" never points to another family (PostgreSQL never reuses them).
                  sqlite_autoincrement=True)

# The console's second factor (TOTP, RFC 6238) of the accounts that see families' details. account is
# the users row; secret_encrypted a Fernet token of the base32 secret (a key derived from the console's
# key); enrolled_at is NULL while the account has been shown a secret but not yet confirmed it with a
# code; last_step the newest 30-second time step a code was accepted for (each is used once).
second_factors = Table("second_factors", metadata,
                       Column("account", Integer, ForeignKey("users.id"), primary_key=True),
                       Column("secret_encrypted", Text, nullable=False),
                       Column("enrolled_at", Float),
                       Column("last_step", Integer))

# Single-use recovery codes of a second factor: a SHA-256 of each (never the code), used_at once used.
recovery_codes = Table("recovery_codes", metadata,
                       Column("id", Integer, primary_key=True, autoincrement=True),
                       Column("account", Integer, ForeignKey("users.id"), nullable=False),
                       Column("code_hash", Text, nullable=False),
                       Column("used_at", Float),
                       Index("recovery_codes_by_account", "account", "code_hash", unique=True))
