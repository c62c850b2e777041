"""The hashed lock Heroku installs covers the declared dependencies, and CI's audit never passes a pin
it could not look up (a pin behind the latest release is reported as stale)."""

from __future__ import annotations

import importlib.util
import re

import pytest
from conftest import ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the lock is checked on any of them in CI

LOCK = (ROOT / "requirements.txt").read_text()


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _audit():
    spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_lock_pins_every_dependency_with_hashes():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = _audit().pins(LOCK)
    assert {_name(d) for d in declared} <= pinned.keys()
    # pip's hash-checking mode: every requirement pinned with ==, each with at least one hash, and
    # no line pip could not hash (such as "." or "-e .").
    entries = re.split(r"\n(?=\S)", "\n".join(line for line in LOCK.splitlines()
                                              if line.strip() and not line.lstrip().startswith("#")))
    assert len(entries) == len(pinned)
    for entry in entries:
        assert re.match(r"^[a-z0-9._-]+==\S+", entry), entry
        assert "--hash=sha256:" in entry, entry


def test_the_audit_fails_on_a_vulnerability_or_a_pin_it_could_not_check_and_reports_stale_pins():
    audit = _audit()
    pinned = {"flask": "3.1.3", "jinja2": "3.1.2", "pyyaml": "6.0.4", "click": "8.1.0"}
    report = {"dependencies": [
        {"name": "flask", "version": "3.1.3", "vulns": []},
        {"name": "jinja2", "skip_reason": "Dependency not found on PyPI"},
        {"name": "pyyaml", "skip_reason": "Dependency not found on PyPI"},
        {"name": "click", "skip_reason": "Dependency not found on PyPI"},
    ]}
    latest = {"jinja2": {"info": {"version": "3.1.6"}, "vulnerabilities": []},
              "pyyaml": {"info": {"version": "6.0.4"}, "vulnerabilities": [
                  {"id": "PYSEC-0000-1", "fixed_in": ["6.0.5"], "withdrawn": None},
                  {"id": "PYSEC-0000-2", "fixed_in": [], "withdrawn": "2026-01-01"}]}}

    def project_data(name):
        if name not in latest:
            raise OSError("PyPI did not answer")
        return latest[name]

    found, unaudited, stale = audit.verdict(report, pinned, project_data)
    assert found == ["pyyaml 6.0.4: PYSEC-0000-1 (fixed in 6.0.5)"]
    assert len(unaudited) == 1 and unaudited[0].startswith("click 8.1.0")
    assert len(stale) == 1 and stale[0].startswith("jinja2 3.1.2") and "regenerate the lock" in stale[0]

    report["dependencies"][0]["vulns"] = [{"id": "GHSA-x", "fix_versions": ["3.1.4"]}]
    del report["dependencies"][1:]
    assert audit.verdict(report, pinned, project_data) == (["flask 3.1.3: GHSA-x (fixed in 3.1.4)"], [], [])


def test_the_audit_reads_the_pins_of_the_lock():
    pinned = _audit().pins(LOCK)
    assert pinned["granian"] and pinned["flask"] and "phonenumbers" in pinned
    assert all(re.fullmatch(r"[0-9][0-9a-z.+!-]*", v) for v in pinned.values()), pinned
