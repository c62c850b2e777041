"""The `ivr` command for staff: check, simulate, script, diff, diagram and schema of menus.yaml (or of a
version stored in the database), the menu versions, the database, usage and console accounts."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict

from .conversation import engine
from .menufile.build import load_menus as load_file
from .menufile.json_schema import schema_text
from .menufile.yaml_strict import MenuFileError, Problem
from .model.menu import Menu
from .review import simulate
from .review.diagram import render_diagram
from .review.diff import describe_changes
from .review.lint import lint
from .review.script import render_script
from .review.walk import walk
from .settings import menus_file


def main(argv: Sequence[str] | None = None) -> int:
    """Run one `ivr` command; the exit status is 1 when the menu file has errors."""
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except MenuFileError as exc:
        _print_problems(exc.problems, getattr(args, "format", "text"))
        return 1
    except CommandError as exc:
        print(f"ivr {args.command}: {exc}", file=sys.stderr)
        return 1


FILE_OR_VERSION = "a menu file, or version:N for version N in the line's database"


def _parser() -> argparse.ArgumentParser:
    default = str(menus_file(os.environ))
    parser = argparse.ArgumentParser(prog="ivr", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run, command=name)
        return sub

    check = command("check", _check, "Check menus.yaml: every error and warning, with file:line:col "
                                     "and how to fix it. Exit status 1 on errors.")
    check.add_argument("path", nargs="?", default=default, help=FILE_OR_VERSION)
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--walk", action="store_true",
                       help="also walk every menu with every key, a timeout and a wrong key, up to "
                            "the retry limit and the transfer, through the real engine")

    sim = command("simulate", _simulate, "Try the line as a caller (or, with --sms, as a texter), "
                                         "typing keys or texts, or from a script of them.")
    sim.add_argument("path", nargs="?", default=default, help=FILE_OR_VERSION)
    sim.add_argument("--sms", action="store_true", help="a text conversation instead of a call")
    sim.add_argument("--keys", help="comma-separated keys or spoken words for a scripted call, such as "
                                    "1,9,*,wait,pump,0,busy (wait: let the prompt time out; after a "
                                    "transfer: answer, busy, no-answer or failed)")
    sim.add_argument("--texts", nargs="+", metavar="TEXT", help="texts for a scripted conversation")
    sim.add_argument("--callbacks", action="store_true",
                     help="as a line taking callback requests (IVR_CALLBACK_KEYS set): key 3 and CALL ME "
                          "ask for one, kept by a pretend desk (nothing is stored or recorded)")

    script = command("script", _script, "Everything the line says and texts, in menu order, for "
                                        "clinicians to review and sign off.")
    script.add_argument("path", nargs="?", default=default, help=FILE_OR_VERSION)
    script.add_argument("--format", choices=("markdown", "html"), default="markdown")
    script.add_argument("--language", help="the script in another language of the line, such as es-US")

    diff = command("diff", _diff, "What a change to menus.yaml changes for callers and texters.")
    diff.add_argument("old", help=FILE_OR_VERSION)
    diff.add_argument("new", help="the same, such as menus.yaml or version:8")

    diagram = command("diagram", _diagram, "The menu as a flowchart: Mermaid (GitHub shows it) or "
                                           "Graphviz DOT.")
    diagram.add_argument("path", nargs="?", default=default, help=FILE_OR_VERSION)
    diagram.add_argument("--format", choices=("mermaid", "dot"), default="mermaid")

    command("schema", _schema, "The JSON Schema of menus.yaml, for editors (menus.schema.json).")

    versions = command("versions", _versions, "Every version of menus.yaml in the line's database, newest "
                                              "first: its number, state, hash, when, who, source and note.")
    versions.add_argument("--limit", type=int, default=50, help="how many of the newest (default 50)")
    export = command("export", _export, "Write a version of menus.yaml from the line's database to stdout "
                                        "(the published one by default): ivr export 7 > menus.yaml")
    export.add_argument("version", nargs="?", type=_number, help="the version's number (ivr versions)")
    publish = command("publish", _publish, "Check a menu file, then publish it as a new version: every "
                                           "worker serves it within IVR_RELOAD_SECONDS.")
    publish.add_argument("file")
    publish.add_argument("--note", default="", help="why, for the history (ivr versions)")

    db = command("db", _db, "The line's database (DATABASE_URL, or the SQLite file IVR_DATABASE).")
    db.add_argument("action", choices=("upgrade",),
                    help="upgrade: create the schema or migrate it to this version (run on every "
                         "deploy; the Procfile's release step does it)")

    usage = command("usage", _usage, "How the line is used: calls, texts, topics, transfers and where "
                                     "calls ended, for a period and per day (UTC), from the usage events.")
    usage.add_argument("action", nargs="?", choices=("rollup",),
                       help="rollup: add every closed day to the daily totals, then delete raw events "
                            "older than IVR_EVENTS_RETENTION_DAYS (the line does it hourly too)")
    usage.add_argument("--since", type=_date, help="first day, YYYY-MM-DD (UTC)")
    usage.add_argument("--until", type=_date, help="last day, YYYY-MM-DD (UTC), included")
    usage.add_argument("--format", choices=("table", "json", "csv"), default="table")

    callbacks = command("callbacks", _callbacks, "Callback requests in the line's database (see "
                                                 "\"Callback requests (storage)\" in the README).")
    callbacks.add_argument("action", choices=("purge", "rekey"),
                           help="purge: delete requests closed IVR_CALLBACKS_CLOSED_DAYS ago or made "
                                "IVR_CALLBACKS_MAX_DAYS ago, and their recordings at Twilio (run it "
                                "daily); rekey: re-encrypt every number with the first of "
                                "IVR_CALLBACK_KEYS")

    users = command("users", _users, "Staff console accounts, in the line's database (see \"Staff "
                                     "console\" in the README).")
    actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add an account (the password is asked for, or read from stdin)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("viewer", "scheduler", "editor", "clinician", "admin"))
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    actions.add_parser("list", help="every account, its role and whether it is disabled or locked")
    disable = actions.add_parser("disable", help="disable an account; its sessions end at once")
    disable.add_argument("username")
    reset = actions.add_parser("reset-password", help="a new password; the account's sessions end")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    reset_2fa = actions.add_parser("reset-2fa", help="remove an account's second factor (a lost phone): its "
                                                     "sessions end and it enrols again at its next sign-in")
    reset_2fa.add_argument("username")
    return parser


def _read_password(from_stdin: bool) -> str:
    """The new password: one line of stdin, or asked for twice without echo."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("New password: ")
    if getpass.getpass("The same password again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def _users(args) -> int:
    # Imported here: the menu commands never need SQLAlchemy or argon2.
    import time

    from .settings import SETTINGS
    from .storage import DatabaseUrlError, StoreError, database_url
    from .storage.accounts import AccountError, normal_username, open_accounts

    name = f"ivr users {args.action}"
    try:
        from .console import passwords
        from .console.views import username_problem
    except ImportError as exc:
        print(f"{name}: the console's packages are not installed ({exc.name}): "
              "pip install -e '.[console]'", file=sys.stderr)
        return 1
    default_file = next(s.default for s in SETTINGS if s.name == "IVR_DATABASE")
    try:
        url = database_url(os.environ.get("DATABASE_URL", ""),
                           os.environ.get("IVR_DATABASE", "").strip() or default_file)
        accounts, close = open_accounts(url)
    except (DatabaseUrlError, StoreError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    now = time.time()
    try:
        if args.action == "list":
            found = accounts.list_users()
            if not found:
                print("no accounts yet: add one with `ivr users add USERNAME --role admin`")
            for user in found:
                state = ("disabled" if user.disabled else
                         "locked" if user.locked_until and user.locked_until > now else "active")
                print(f"{user.username}\t{user.role}\t{state}")
            return 0
        username = normal_username(args.username)
        if args.action == "add":
            problem = username_problem(username)
            if problem:
                raise AccountError(problem)
            if accounts.find_user(username):
                raise AccountError(f"there is already an account named {username!r}")
        user = None if args.action == "add" else accounts.find_user(username)
        if args.action != "add" and user is None:
            raise AccountError(f"there is no account named {username!r} (see `ivr users list`)")
        if args.action == "disable":
            accounts.set_disabled(user.id, True)
            accounts.log(now, "(ivr users)", "account disabled", username)
            print(f"{username} is disabled; its sessions have ended")
            return 0
        if args.action == "reset-2fa":
            from .storage.second_factors import SecondFactors

            had = SecondFactors(accounts._run).reset(user.id)
            accounts.log(now, "(ivr users)", "second factor reset", username, "" if had else "it had none")
            print(f"the second factor of {username} is reset; its sessions have ended and it enrols "
                  "again at its next sign-in" if had
                  else f"{username} had no second factor; its sessions have ended")
            return 0
        password = _read_password(args.password_stdin)
        problem = passwords.password_problem(password)
        if problem:
            raise AccountError(problem)
        if args.action == "add":
            accounts.add_user(username, args.role, passwords.hash_password(password), now)
            accounts.log(now, "(ivr users)", "account added", username, f"role {args.role}")
            print(f"{username} added, role {args.role}")
        else:
            accounts.set_password(user.id, passwords.hash_password(password), now)
            accounts.log(now, "(ivr users)", "password reset", username)
            print(f"the password of {username} is changed; its sessions have ended")
        return 0
    except (AccountError, ValueError, StoreError) as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
    except (EOFError, KeyboardInterrupt):
        print(f"{name}: no password given", file=sys.stderr)
        return 1
    finally:
        close()


def _date(value: str) -> str:
    from datetime import date

    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-01-31") from None


VERSION_PREFIX = "version:"


def load_menus(path: str) -> Menu:
    """The menu file at `path`, or, for version:N, version N from the line's database, read with the
    same strict loader (its problems are given as "menu version N:line:col")."""
    if not path.startswith(VERSION_PREFIX):
        return load_file(path)
    from .menufile.build import parse_menu_bytes

    try:
        number = _number(path[len(VERSION_PREFIX):])
    except argparse.ArgumentTypeError as exc:
        raise CommandError(str(exc)) from None
    version = _with_versions(lambda versions: versions.get(number))
    if version is None:
        raise CommandError(f"there is no menu version {number} (see `ivr versions`)")
    return parse_menu_bytes(version.data, f"menu version {number}")


class CommandError(Exception):
    """A command that cannot do what was asked (the message says why)."""


def _number(value: str) -> int:
    value = value.removeprefix(VERSION_PREFIX)
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a version number like 7 (see `ivr versions`)")
    return int(value)


def _line_database() -> str:
    from .settings import SETTINGS
    from .storage import database_url

    default_file = next(s.default for s in SETTINGS if s.name == "IVR_DATABASE")
    return database_url(os.environ.get("DATABASE_URL", ""),
                        os.environ.get("IVR_DATABASE", "").strip() or default_file)


def _with_versions(work):
    """work(versions) on the line's database (DATABASE_URL, or the SQLite file IVR_DATABASE)."""
    # Imported here: the menu commands on files never need SQLAlchemy.
    from .storage import DatabaseUrlError, StoreError
    from .storage.versions import VersionError, open_versions

    try:
        versions, close = open_versions(_line_database())
    except (DatabaseUrlError, StoreError) as exc:
        raise CommandError(str(exc)) from None
    try:
        return work(versions)
    except (StoreError, VersionError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        close()


def _versions(args) -> int:
    listed = _with_versions(lambda versions: versions.list(max(args.limit, 1)))
    if not listed:
        print("no menu versions yet: the line records menus.yaml when it starts, or run "
              "`ivr publish menus.yaml`")
        return 0
    rows = [("number", "state", "sha256", "when (UTC)", "who", "source", "note")]
    for v in listed:
        when, who = (v.published_at, v.published_by) if v.published_at else (v.created, v.created_by)
        rows.append((str(v.id), v.state, v.sha256[:12], _when(when), who or "", v.source,
                     v.note.replace("\n", " ")[:60]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0


def _when(seconds: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _export(args) -> int:
    import time

    from .storage.versions import CLI_ACTOR, Drafts

    def find(versions):
        if args.version is not None:
            version = versions.get(args.version)
        else:
            newest = versions.newest_published()
            version = None if newest is None else versions.get(newest.id)
        if version is not None:  # every export is in the audit log, as in the console
            Drafts(versions).exported(version.id, version.sha256, by=CLI_ACTOR, now=time.time())
        return version

    version = _with_versions(find)
    if version is None:
        raise CommandError(f"there is no menu version {args.version} (see `ivr versions`)"
                           if args.version is not None else "no menu version is published yet")
    sys.stdout.flush()
    sys.stdout.buffer.write(version.data)  # the exact bytes: the same sha256 as in `ivr versions`
    sys.stdout.buffer.flush()
    return 0


def _publish(args) -> int:
    import time
    from pathlib import Path

    from .menufile.build import read_menu_file
    from .storage.versions import CLI_ACTOR, sha256_of

    try:
        data = read_menu_file(args.file)
        menu = load_file(args.file)  # the same strict loader as the line: a broken file stops here
        errors = [p for p in (*menu.warnings, *lint(menu)) if p.severity == "error"]
    except MenuFileError as exc:
        errors = exc.problems
    if errors:
        _print_problems(errors, "text")
        print(f"ivr publish: {args.file} is not published (see `ivr check {args.file}`)", file=sys.stderr)
        return 1

    def publish(versions):
        newest = versions.newest_published()
        if newest is not None and newest.sha256 == sha256_of(data):
            return newest.id, False
        version, _ = versions.publish_new(data, source="cli", by=CLI_ACTOR, now=time.time(),
                                          note=args.note.strip())
        return version.id, True

    number, published = _with_versions(publish)
    name = Path(args.file).name
    if published:
        print(f"{name} is published as menu version {number}; every worker serves it within "
              "IVR_RELOAD_SECONDS")
    else:
        print(f"{name} is already the published menu version {number}: nothing to do")
    return 0


def _check(args) -> int:
    menu = load_menus(args.path)
    problems = [*menu.warnings, *lint(menu)]
    if args.walk:
        for one in (menu, *menu.translations.values()):
            report = walk(one)
            problems += report.problems
            if args.format == "text":
                print(f"walked {report.states} states in {report.steps} steps ({one.language})",
                      file=sys.stderr)
    problems.sort(key=lambda p: (p.line, p.col))
    _print_problems(problems, args.format)
    return 1 if any(p.severity == "error" for p in problems) else 0


def _print_problems(problems: list[Problem], fmt: str) -> None:
    if fmt == "json":
        print(json.dumps([asdict(p) for p in problems], indent=2))
        return
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    print(f"{errors} error(s), {len(problems) - errors} warning(s)", file=sys.stderr)


def _simulate(args) -> int:
    menu = load_menus(args.path)
    if args.sms:
        # Typing "q" ends a typed conversation; QUIT is an opt-out word, so it is not the way out.
        bodies = args.texts if args.texts is not None else simulate.prompted("text (q ends)> ", stop="q")
        simulate.texts(menu, bodies, print, callbacks=args.callbacks)
    else:
        keys = args.keys.split(",") if args.keys is not None else simulate.prompted(
            "key or words (0-9 * #; Enter waits; q hangs up; after a transfer: answer/busy/no-answer/"
            "failed)> ")
        simulate.call(menu, keys, print, callbacks=args.callbacks)
    return 0


def _script(args) -> int:
    menu = load_menus(args.path)
    if args.language and args.language not in menu.translations:
        print(f"{args.path} has no {args.language} text; it has: "
              f"{', '.join((menu.language, *menu.translations))}", file=sys.stderr)
        return 1
    print(render_script(engine.translation(menu, args.language), args.format), end="")
    return 0


def _diff(args) -> int:
    old: Menu = load_menus(args.old)
    new = load_menus(args.new)
    print(describe_changes(old, new))
    # What families hear and read in every other language changes too, and is reviewed the same way.
    for language, translated in new.translations.items():
        if language in old.translations:
            print(f"\nIn {language}:")
            print(describe_changes(old.translations[language], translated))
        else:
            print(f"\nNew language: {language}; review it with: ivr script --language {language}")
    return 0


def _diagram(args) -> int:
    print(render_diagram(load_menus(args.path), args.format), end="")
    return 0


def _schema(args) -> int:
    print(schema_text(), end="")
    return 0


def _db(args) -> int:
    # Imported here: the menu commands never need SQLAlchemy or Alembic.
    from .settings import SETTINGS
    from .storage import DatabaseUrlError, StoreError, database_url
    from .storage.sql import describe, upgrade

    default_file = next(s.default for s in SETTINGS if s.name == "IVR_DATABASE")
    try:
        url = database_url(os.environ.get("DATABASE_URL", ""),
                           os.environ.get("IVR_DATABASE", "").strip() or default_file)
        before, after = upgrade(url)
    except (DatabaseUrlError, StoreError) as exc:
        print(f"ivr db upgrade: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{describe(url)}: the schema is up to date (revision {after})")
    else:
        print(f"{describe(url)}: schema migrated from {before or 'nothing (a new database)'} to revision "
              f"{after}")
    return 0


def _usage(args) -> int:
    # Imported here: the menu commands never need SQLAlchemy.
    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from . import usage_report
    from .settings import SETTINGS, StartupError, events_retention_days
    from .storage import DatabaseUrlError, database_url
    from .storage.sql import describe, make_engine

    default_file = next(s.default for s in SETTINGS if s.name == "IVR_DATABASE")
    try:
        url = database_url(os.environ.get("DATABASE_URL", ""),
                           os.environ.get("IVR_DATABASE", "").strip() or default_file)
        if args.action == "rollup":
            return _rollup(url, events_retention_days(os.environ))
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                if engine.dialect.name == "postgresql":  # one snapshot, whatever a roll-up commits meanwhile
                    connection.execution_options(isolation_level="REPEATABLE READ")
                with connection.begin():
                    if engine.dialect.name == "postgresql":  # longer than a webhook's statement
                        connection.execute(text("SET LOCAL statement_timeout = 0"))
                    report = usage_report.usage(connection, args.since, args.until)
        finally:
            engine.dispose()
    except (DatabaseUrlError, StartupError) as exc:
        print(f"ivr usage: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"ivr usage: cannot read the usage events in {describe(url)} (run `ivr db upgrade` "
              f"first?): {str(getattr(exc, 'orig', exc)).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    render = {"json": usage_report.as_json, "csv": usage_report.as_csv, "table": usage_report.as_table}
    print(render[args.format](report), end="")
    return 0


def _callbacks(args) -> int:
    # Imported here: the menu commands never need SQLAlchemy, cryptography or the Twilio client.
    import time

    from .settings import StartupError, read_settings
    from .storage import DatabaseUrlError, StoreError, open_store
    from .storage.callbacks import CallbackError, Callbacks

    try:
        settings = read_settings(os.environ)
        store = open_store(settings.database_url, settings.number_hash_key)
    except (StartupError, DatabaseUrlError, StoreError) as exc:
        raise CommandError(str(exc)) from None
    try:
        requests = Callbacks.for_store(store, settings.callback_keys)
        if args.action == "rekey":
            print(f"re-encrypted the numbers of {requests.rekey()} callback request(s) with the first key "
                  "of IVR_CALLBACK_KEYS; the other keys may now be dropped")
            return 0
        return _purge(requests, settings, time.time())
    except (StoreError, CallbackError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        store.close()


def _purge(requests, settings, now: float) -> int:
    """Delete each due request's recording at Twilio, then the requests whose recording is gone."""
    closed_days, max_days = settings.callbacks_closed_days, settings.callbacks_max_days
    due = requests.due(now, closed_days, max_days)
    gone: dict[int, str | None] = {}
    failed: list[int] = []
    delete = _recording_deleter(settings) if any(sid for _, sid in due) else None
    for request_id, sid in due:
        if sid is None or delete(sid):
            gone[request_id] = sid
        else:
            failed.append(request_id)
    removed = requests.purge(now, closed_days, max_days, only=gone)
    recordings = sum(1 for _, sid in removed if sid)
    print(f"deleted {len(removed)} callback request(s) and {recordings} recording(s) at Twilio"
          + (f": {', '.join(str(i) for i, _ in removed)}" if removed else "")
          + f" (IVR_CALLBACKS_CLOSED_DAYS={closed_days}, IVR_CALLBACKS_MAX_DAYS={max_days})")
    if failed:
        print(f"ivr callbacks: kept {len(failed)} request(s) whose recording Twilio did not delete, for the "
              f"next run: {', '.join(map(str, failed))}", file=sys.stderr)
        return 1
    return 0


def _recording_deleter(settings):
    """delete(sid) -> True when the recording is gone at Twilio (deleted now, or already: 404)."""
    from .recordings import Recordings

    recordings = Recordings.from_settings(settings)
    if recordings is None:
        raise CommandError("TWILIO_ACCOUNT_SID is not set: the recordings cannot be deleted at Twilio")
    return recordings.delete


def _rollup(url: str, retention_days: int) -> int:
    import time

    from .storage.sql import describe, make_engine
    from .usage_report import closed_before, expired_before, maintain

    engine = make_engine(url)
    try:
        done = maintain(engine, retention_days)  # waits for a worker's run to finish, never runs twice
    finally:
        engine.dispose()
    rolled = done["rolled"]
    print(f"{describe(url)}: " + (f"rolled up {len(rolled)} day(s), {rolled[0]} to {rolled[-1]}"
                                  if rolled else "no closed day to roll up")
          + f" (days before {closed_before(time.time())} are closed)")
    expired = done["expired"]
    print(f"deleted {done['deleted']} raw event(s) of {len(expired)} day(s) before "
          f"{expired_before(time.time(), retention_days)} (IVR_EVENTS_RETENTION_DAYS={retention_days}); "
          "their daily totals are kept")
    return 0
