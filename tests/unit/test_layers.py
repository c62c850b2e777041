"""The package's layers: the menu model and the conversation import nothing from Flask, Twilio, SQL or
YAML, nor from the layers that use them; every import is read from the source, lazy ones included."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "ivr"
# What the model and the conversation may never import, at the top of a module or inside a function.
FRAMEWORKS = ("flask", "werkzeug", "jinja2", "twilio", "requests", "sqlalchemy", "alembic", "psycopg",
              "yaml", "granian", "gunicorn")
OUTER_LAYERS = ("ivr.menufile", "ivr.webhooks", "ivr.storage", "ivr.review", "ivr.console", "ivr.cli",
                "ivr.server", "ivr.settings", "ivr.line", "ivr.live_menu", "ivr.health", "ivr.usage",
                "ivr.usage_report", "ivr.logs")
FORBIDDEN = {
    "model": FRAMEWORKS + OUTER_LAYERS + ("ivr.conversation",),
    "conversation": FRAMEWORKS + OUTER_LAYERS,
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports, as an absolute name, with its line."""
    package = "ivr." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    package = package.rstrip(".")
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def modules(layer: str) -> list[Path]:
    return sorted((PACKAGE / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_it_must_not(layer):
    assert modules(layer), f"ivr/{layer}/ has no modules"
    wrong = [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {name}"
             for path in modules(layer) for line, name in imports_of(path)
             if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])]
    assert wrong == [], "\n".join(wrong)


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    # The rule must catch what it is there to catch: a lazy relative import of storage, and Flask.
    fake = PACKAGE / "conversation" / "engine.py"
    names = [name for _, name in imports_of(fake)]
    assert "ivr.model.menu.Menu" in names
    probe = tmp_path / "ivr" / "conversation" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def f():\n    from ..storage import sql\n    import flask\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "ivr")
    assert [name for _, name in imports_of(probe)] == ["ivr.storage", "ivr.storage.sql", "flask"]


def test_stepping_a_call_loads_no_framework():
    # At run time too: the service, a menu and a whole call, in a fresh interpreter.
    script = (
        "import sys\n"
        "from ivr.conversation.service import Conversation, Call\n"
        "from ivr.conversation.fakes import PretendTexting\n"
        "import ivr.model.menu\n"
        f"banned = {FRAMEWORKS!r}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_no_cache_outlives_its_menu():
    # Caches hang off a loaded Menu (Menu.remembered), so a reload drops them and nothing a family
    # wrote or said can become a key of a process-wide cache.
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {name}"
             for path in sorted(PACKAGE.rglob("*.py")) for line, name in imports_of(path)
             if name in ("functools.lru_cache", "functools.cache")]
    assert found == [], "\n".join(found)
