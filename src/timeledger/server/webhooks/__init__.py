"""Webhooks: subscriptions, signing, the SSRF guard and the life of a delivery."""
