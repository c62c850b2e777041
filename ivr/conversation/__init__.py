"""The conversation: menu + state + input -> what to say or text, and the effects. No Flask, Twilio,
SQL or YAML here: the webhooks, `ivr simulate`, the walk and the browser simulator all drive it."""
