"""The three signing schemes, verified the way their receivers verify them: Standard Webhooks
by its reference library, Temporal.ist and ClockEye by the snippets in their API docs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import shutil
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from timeledger.server.webhooks.signing import new_secret, sign

from .hookkit import clockeye_verify_in_node, temporalist_verify

BODY = json.dumps({"id": "e1", "type": "client.created", "data": {"name": "Zoë"}}).encode()
MESSAGE_ID = "0190f3a2-7c3e-7a11-8d2b-5f0e4c3b2a19"


def test_secrets_carry_32_random_bytes_in_each_scheme_format():
    standard = new_secret("standard")
    assert standard.startswith("whsec_")
    assert len(base64.b64decode(standard.removeprefix("whsec_"))) == 32
    for scheme in ("temporalist", "clockeye"):
        secret = new_secret(scheme)
        assert len(bytes.fromhex(secret)) == 32
    assert len({new_secret("standard") for _ in range(50)}) == 50


def test_standard_webhooks_signature_verifies_with_the_reference_library():
    secret = new_secret("standard")
    timestamp = int(time.time())
    headers = sign("standard", [secret], MESSAGE_ID, timestamp, BODY)

    assert headers["webhook-id"] == MESSAGE_ID
    assert headers["webhook-timestamp"] == str(timestamp)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY + b" ", headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret("standard")).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):  # the id is signed too
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "another"})


def test_standard_webhooks_signs_with_every_live_secret_during_a_rotation():
    new, old = new_secret("standard"), new_secret("standard")
    headers = sign("standard", [new, old], MESSAGE_ID, int(time.time()), BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret("standard")).verify(BODY, headers)


def test_temporalist_signature_verifies_with_the_documented_snippet():
    secret = new_secret("temporalist")
    headers = sign("temporalist", [secret], MESSAGE_ID, 1781434200, BODY)

    assert headers["X-Temporalist-Delivery"] == MESSAGE_ID
    assert headers["X-Temporalist-Signature"].startswith("t=1781434200,v1=")
    assert temporalist_verify(secret, headers["X-Temporalist-Signature"], BODY)
    assert not temporalist_verify(secret, headers["X-Temporalist-Signature"], BODY + b"x")
    assert not temporalist_verify(
        new_secret("temporalist"), headers["X-Temporalist-Signature"], BODY
    )


def test_clockeye_signature_verifies_with_the_documented_snippet():
    secret = new_secret("clockeye")
    headers = sign("clockeye", [secret], MESSAGE_ID, 1781434200, BODY)
    signature = headers["X-ClockEye-Signature"]

    expected = "sha256=" + hmac.new(secret.encode(), BODY, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    if shutil.which("node") is None:
        pytest.skip("node is not installed; the Python transcription above passed")
    assert clockeye_verify_in_node(BODY, signature, secret)
    assert not clockeye_verify_in_node(BODY + b"x", signature, secret)


def test_clockeye_carries_only_the_current_secret():
    new, old = new_secret("clockeye"), new_secret("clockeye")
    signature = sign("clockeye", [new, old], MESSAGE_ID, 0, BODY)["X-ClockEye-Signature"]
    assert signature == "sha256=" + hmac.new(new.encode(), BODY, hashlib.sha256).hexdigest()
