"""The webhook dispatcher: claim, sign, POST, record, back off."""
