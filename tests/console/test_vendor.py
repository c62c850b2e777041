"""The console's third-party files: each one listed in the manifest with its licence, unchanged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "ivr" / "console" / "static" / "vendor"
MANIFEST = json.loads((VENDOR / "manifest.json").read_text())


def listed() -> dict[str, dict]:
    return {path: entry for package in MANIFEST["packages"] for path, entry in package["files"].items()}


def test_every_vendored_file_is_listed_and_unchanged():
    on_disk = {str(p.relative_to(VENDOR)) for p in VENDOR.rglob("*") if p.is_file()} - {"manifest.json"}
    assert on_disk == set(listed()), "a vendored file is missing from manifest.json, or listed but gone"
    for path, entry in listed().items():
        assert hashlib.sha256((VENDOR / path).read_bytes()).hexdigest() == entry["sha256"], path


def test_every_package_carries_its_licence_and_where_it_came_from():
    for package in MANIFEST["packages"]:
        assert package["licence_file"] in package["files"], package["name"]
        assert (VENDOR / package["licence_file"]).read_text().strip(), package["name"]
        assert package["tarball"].startswith("https://registry.npmjs.org/"), package["name"]
        assert package["version"] in package["tarball"]
        assert package["tarball_integrity"].startswith("sha512-")


def test_a_bundle_lists_every_package_of_its_lock_with_its_licence():
    lock = json.loads((VENDOR.parents[3] / "vendor-build" / "codemirror" / "package-lock.json").read_text())
    locked = {path.removeprefix("node_modules/"): entry for path, entry in lock["packages"].items()
              if path and "esbuild" not in path}
    bundle = next(p for p in MANIFEST["packages"] if p["name"] == "codemirror")
    listed_packages = {b["name"]: b for b in bundle["bundled"]}
    assert set(listed_packages) == set(locked)
    licences = (VENDOR / bundle["licence_file"]).read_text()
    for name, entry in listed_packages.items():
        assert entry["version"] == locked[name]["version"], name
        assert entry["tarball_integrity"] == locked[name]["integrity"], name
        assert entry["tarball"] == (f"https://registry.npmjs.org/{name}/-/{name.split('/')[-1]}-"
                                    f"{entry['version']}.tgz"), name
        assert f"== {name} {entry['version']} ==" in licences, name
