"""Heroku's app.json describes the line as the README sets it up: its settings, its database add-on."""

from __future__ import annotations

import json

from conftest import ROOT

from ivr.settings import SETTINGS

APP = json.loads((ROOT / "app.json").read_text())


def test_every_variable_in_app_json_is_a_setting_of_the_line():
    declared = {setting.name for setting in SETTINGS}
    assert set(APP["env"]) <= declared


def test_the_secrets_are_asked_for_or_generated_never_given_a_value():
    env = APP["env"]
    for name in ("TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID", "IVR_PUBLIC_BASE_URL"):
        assert env[name].get("required") is True and "value" not in env[name]
    # Heroku's "secret" generator makes 64 hex digits: the 256 bits IVR_SECRET_KEY needs.
    assert env["IVR_SECRET_KEY"] == {**env["IVR_SECRET_KEY"], "generator": "secret"}
    assert "value" not in env["IVR_SECRET_KEY"]


def test_the_database_is_heroku_postgres_and_the_router_is_trusted():
    assert {"plan": "heroku-postgresql", "as": "DATABASE"} in APP["addons"]
    assert APP["env"]["IVR_TRUSTED_PROXIES"]["value"] == "1"
