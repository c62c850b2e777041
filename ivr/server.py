"""The production web server: the line is loaded once, then granian's workers are forked from it."""

from __future__ import annotations

import importlib
import multiprocessing
import sys


def main(argv: list[str] | None = None) -> None:
    """Load the app named last in `argv` (granian's APP argument), then run granian's command line.

    Loading first is what gunicorn's --preload did: menus.yaml is read and checked once, before any
    worker starts, so a broken file stops the server with every problem listed (ivr's StartupError
    exits without a traceback); and every worker, a replaced one too, is forked with the app already
    loaded, so it never reads a menus.yaml that staff broke while the line was running.
    """
    args = sys.argv[1:] if argv is None else argv
    if args and not args[-1].startswith("-"):  # not for --help or --version
        module, _, attribute = args[-1].partition(":")
        getattr(importlib.import_module(module), attribute or "app")
    # granian starts workers with multiprocessing's default method; only fork shares the loaded app
    # (Python 3.14 makes forkserver the default on Linux).
    multiprocessing.set_start_method("fork", force=True)
    from granian.cli import cli

    cli.main(args, prog_name="granian", auto_envvar_prefix="GRANIAN")


if __name__ == "__main__":
    main()
