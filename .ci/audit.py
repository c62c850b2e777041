"""CI's dependency audit: pip-audit over the locked requirements, failing whenever a pin is not audited."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

PROJECT_JSON = "https://pypi.org/pypi/{name}/json"


def pins(requirements: str) -> dict[str, str]:
    """Each `name==version` of a lock file, by lower-case name (hash and comment lines skipped)."""
    found = {}
    for line in requirements.splitlines():
        spec = line.split(";")[0].strip().rstrip("\\").strip()
        if "==" in spec and not spec.startswith(("#", "-")):
            name, version = spec.split("==")
            found[name.strip().lower()] = version.strip()
    return found


def verdict(report: dict, pinned: dict[str, str], project_data) -> tuple[list[str], list[str], list[str]]:
    """(vulnerabilities found, pins that could not be audited, pins older than the latest release)
    from pip-audit's JSON report.

    pip-audit asks PyPI for each pinned version's advisories. Where that answer cannot be had (it
    skips the pin), PyPI's project page still lists the advisories of the latest release, which
    settles a pin that is the latest. A pin behind the latest release cannot be settled that way:
    it is reported as stale (a newer release is no vulnerability, and must not stop every landing),
    while a pin that could not be looked up at all fails the audit.
    """
    found, unaudited, stale = [], [], []
    for dep in report["dependencies"]:
        name = dep["name"].lower()
        if "skip_reason" not in dep:
            found += [f"{name} {dep['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '?'})"
                      for v in dep["vulns"]]
            continue
        try:
            data = project_data(name)
        except OSError as exc:
            unaudited.append(f"{name} {pinned.get(name)}: {dep['skip_reason']}; PyPI: {exc}")
            continue
        if data["info"]["version"] != pinned.get(name):
            stale.append(f"{name} {pinned.get(name)}: not audited ({dep['skip_reason']}); the latest "
                         f"release is {data['info']['version']}: regenerate the lock (see README)")
            continue
        found += [f"{name} {pinned[name]}: {v['id']} (fixed in {', '.join(v.get('fixed_in') or []) or '?'})"
                  for v in data.get("vulnerabilities", []) if not v.get("withdrawn")]
    return found, unaudited, stale


def _project_data(name: str) -> dict:
    with urllib.request.urlopen(PROJECT_JSON.format(name=name), timeout=30) as response:
        return json.load(response)


def main(requirements: str = "requirements.txt") -> int:
    """Run pip-audit and print the verdict; 1 on a vulnerability or on any pin left unaudited."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "audit.json"
        done = subprocess.run([str(Path(sys.executable).parent / "pip-audit"), "--require-hashes",
                               "--disable-pip", "-r", requirements, "-f", "json", "-o", str(out)],
                              capture_output=True, text=True)
        if not out.exists():
            print(f"pip-audit failed ({done.returncode}):\n{done.stderr}", file=sys.stderr)
            return 1
        report = json.loads(out.read_text())
    pinned = pins(Path(requirements).read_text())
    found, unaudited, stale = verdict(report, pinned, _project_data)
    for line in found:
        print(f"vulnerable: {line}", file=sys.stderr)
    for line in unaudited:
        print(f"not audited: {line}", file=sys.stderr)
    for line in stale:
        print(f"WARNING stale pin: {line}", file=sys.stderr)
    if found or unaudited:
        return 1
    checked = len(report["dependencies"]) - len(stale)
    print(f"pip-audit: {checked} of {len(report['dependencies'])} locked packages audited, no known "
          f"vulnerabilities" + (f"; {len(stale)} stale pin(s) not audited, listed above" if stale else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
