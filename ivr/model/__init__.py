"""The menu model: what the line says and where each key leads. No YAML, Flask, Twilio or SQL here."""
