"""The console's forms (Flask-WTF: each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from .roles import DESCRIPTIONS, ROLES

try:  # WTForms 3.3 and later; older ones take (value, label) pairs
    from wtforms import SelectChoice
except ImportError:  # pragma: no cover
    def SelectChoice(value, label):  # noqa: N802
        return (value, label)


class SignInForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)],
                           render_kw={"autocomplete": "username", "autocapitalize": "none",
                                      "spellcheck": "false"})
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "current-password"})


class AddAccountForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired(), Length(max=100)],
                           render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"})
    role = SelectField("Role", choices=[SelectChoice(r, f"{r} ({DESCRIPTIONS[r]})") for r in ROLES],
                       default="viewer")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "new-password"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=1000)],
                             render_kw={"autocomplete": "new-password"})


class ButtonForm(FlaskForm):
    """A form that is only a button (sign out, disable): its CSRF token and nothing else."""


# Row numbers fit PostgreSQL's integer; a larger one names nothing and is never sent to the database.
MAX_ID = 2**31 - 1


def row_number(value: str | None) -> int | None:
    """A row number from a query or form field: a whole number from 1 to MAX_ID, else None."""
    if value is None or not (value.isascii() and value.isdigit()) or len(value) > 10:
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None
