"""What every API surface is wrapped in: rate limits, body limits, admission control and
idempotency keys (stack.py puts them together)."""
