"""The Twilio edge: signature check, form parsing, TwiML rendering and the REST client for texts."""
