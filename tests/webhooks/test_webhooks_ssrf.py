"""The SSRF guard: refused at creation (and on change) for every address class, and again at
delivery, against the address the connection would really use."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest
import trustme
from starlette.testclient import TestClient

from timeledger.server.config import Settings, SettingsError
from timeledger.server.webhooks.deliveries import RetrySchedule
from timeledger.server.webhooks.ssrf import TargetPolicy, UnsafeTarget, check_url, refusal
from timeledger.server.worker.dispatcher import Dispatcher
from timeledger.server.worker.transport import trusted_ssl_context

from .hookkit import V2, Receiver, ok, subscribe

STRICT = TargetPolicy()
RELAXED = TargetPolicy(allow_http=True, allow_private=True)

REFUSED = [
    ("https://127.0.0.1/hook", "a loopback address"),
    ("https://127.10.20.30/hook", "a loopback address"),
    ("https://[::1]/hook", "a loopback address"),
    ("https://localhost/hook", "localhost resolves to"),
    ("https://10.1.2.3/hook", "a private address"),
    ("https://172.16.0.9/hook", "a private address"),
    ("https://192.168.1.1/hook", "a private address"),
    ("https://[::ffff:10.0.0.1]/hook", "a private address"),
    ("https://169.254.10.10/hook", "a link-local address"),
    ("https://[fe80::1]/hook", "a link-local address"),
    ("https://[fd12:3456::1]/hook", "a unique-local address"),
    ("https://224.0.0.251/hook", "a multicast address"),
    ("https://[ff02::1]/hook", "a multicast address"),
    ("https://169.254.169.254/latest/meta-data", "a cloud metadata address"),
    ("https://[fd00:ec2::254]/", "a cloud metadata address"),
    ("https://100.100.100.200/", "a cloud metadata address"),
    ("https://0.0.0.0/hook", "an unspecified address"),
    ("https://100.64.0.1/hook", "not a public address"),
    ("https://[2002:7f00:1::1]/hook", "a loopback address"),  # 6to4 around 127.0.0.1
    ("https://[64:ff9b::a00:1]/hook", "a private address"),  # NAT64 around 10.0.0.1
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_every_non_public_address_class_is_refused(url, reason):
    with pytest.raises(UnsafeTarget) as refused:
        check_url(url, STRICT)
    assert reason in refused.value.message
    assert refused.value.field == "url"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://93.184.215.14/hook", "url must start with https://"),
        ("ftp://93.184.215.14/hook", "url must start with https://"),
        ("https://user:pw@93.184.215.14/hook", "url must not contain credentials"),
        ("https://93.184.215.14/hook#x", "url must not contain a #fragment"),
        ("https:///hook", "url must name a host"),
        ("https://93.184.215.14:99999/hook", "url has an invalid port"),
        ("https://93.184.215.14/a b", "url must not contain spaces"),
        ("https://nothing.invalid/hook", "url host nothing.invalid cannot be resolved"),
    ],
)
def test_malformed_urls_are_refused(url, message):
    with pytest.raises(UnsafeTarget) as refused:
        check_url(url, STRICT)
    assert message in refused.value.message


def test_public_addresses_pass():
    check_url("https://93.184.215.14/hook", STRICT)
    check_url("https://[2606:4700::6810:84e5]:8443/hook?x=1", STRICT)


def test_relaxations_allow_private_and_http_but_never_metadata_or_multicast():
    check_url("http://127.0.0.1:9/hook", RELAXED)
    check_url("https://10.0.0.1/hook", RELAXED)
    check_url("https://[fd12::1]/hook", RELAXED)
    for address in ("169.254.169.254", "fd00:ec2::254", "224.0.0.1", "0.0.0.0"):
        assert refusal(ipaddress.ip_address(address), RELAXED) is not None
    assert RELAXED.relaxations and not STRICT.relaxations


def test_the_api_refuses_them_with_400_naming_url(strict_app, tenant):
    with TestClient(strict_app, headers={"Authorization": f"Bearer {tenant.token}"}) as api:
        for url, reason in REFUSED[::3]:
            response = api.post(f"{V2}/webhooks", json={"url": url, "events": "*"})
            assert response.status_code == 400, response.text
            body = response.json()
            assert body["error"] == "unsafe_url"
            assert body["error_description"].startswith("url ")
            assert reason in body["error_description"]
        plain = api.post(f"{V2}/webhooks", json={"url": "http://93.184.215.14/", "events": "*"})
        assert plain.status_code == 400
        assert plain.json()["error_description"] == "url must start with https://"
        assert ok(api.get(f"{V2}/webhooks"))["total_entries"] == 0


def test_changing_the_url_is_checked_too(strict_app, tenant):
    with TestClient(strict_app, headers={"Authorization": f"Bearer {tenant.token}"}) as api:
        hook = subscribe(api, "https://93.184.215.14/hook")
        response = api.patch(f"{V2}/webhooks/{hook['id']}", json={"url": "https://10.0.0.7/"})
        assert response.status_code == 400
        assert "a private address" in response.json()["error_description"]
        assert ok(api.get(f"{V2}/webhooks/{hook['id']}"))["url"] == "https://93.184.215.14/hook"


def test_delivery_rechecks_the_address_it_connects_to(db, api, receiver):
    """Allowed when created (development settings), refused when delivered by a dispatcher
    with the production rules: nothing reaches the receiver, the attempt says why."""
    hook = subscribe(api, receiver.url(host="localhost"), events=["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
    strict = replace(db.settings, webhooks_allow_http=True)  # http allowed, private not
    assert Dispatcher(db, strict, schedule=RetrySchedule(jitter=0)).run_once() == 1

    assert receiver.received == []
    [delivery] = _deliveries(api, hook)
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("url refused: localhost resolves to")
    assert "a loopback address" in attempt["error"]
    assert delivery["status"] == "pending" and delivery["next_attempt_at"] is not None


def test_delivery_refuses_http_when_it_is_no_longer_allowed(db, api, receiver):
    hook = subscribe(api, receiver.url(), events=["client.created"])
    ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
    strict = replace(db.settings, webhooks_allow_private=True)
    assert Dispatcher(db, strict).run_once() == 1
    assert receiver.received == []
    [delivery] = _deliveries(api, hook)
    assert delivery["attempts"][0]["error"] == "url must start with https://"


def test_https_delivery_verifies_the_certificate_against_the_host_name(
    db, api, monkeypatch, tmp_path
):
    """The sender trusts the CA bundle SSL_CERT_FILE names (a private CA), as it would
    certifi's without it, and checks the certificate's host name."""
    authority = trustme.CA()
    bundle = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    good = Receiver(cert=authority.issue_cert("localhost")).start()
    wrong_name = Receiver(cert=authority.issue_cert("elsewhere.test")).start()
    try:
        hook = subscribe(api, good.url(host="localhost"), events=["client.created"])
        bad = subscribe(api, wrong_name.url(host="localhost"), events=["client.created"])
        ok(api.post(f"{V2}/clients", json={"name": "Acme"}), 201)
        settings = replace(db.settings, webhooks_allow_private=True)  # https only
        assert Dispatcher(db, settings).run_once() == 2

        [received] = good.wait_for(1)
        assert received.json()["type"] == "client.created"
        assert _deliveries(api, hook)[0]["status"] == "succeeded"
        assert wrong_name.received == []
        [failed] = _deliveries(api, bad)
        assert failed["attempts"][0]["error"].startswith("could not connect")
        assert "certificate" in failed["attempts"][0]["error"].lower()
    finally:
        good.stop()
        wrong_name.stop()


def _deliveries(api: TestClient, hook: dict) -> list[dict]:
    return ok(api.get(f"{V2}/webhooks/{hook['id']}/deliveries"))["deliveries"]


def test_the_settings_come_from_the_environment():
    settings = Settings.from_env(
        {
            "TIMELEDGER_WEBHOOKS_ALLOW_HTTP": "1",
            "TIMELEDGER_WEBHOOKS_ALLOW_PRIVATE": "true",
            "TIMELEDGER_WEBHOOKS_IN_PROCESS": "0",
            "TIMELEDGER_WEBHOOKS_POLL_INTERVAL": "0.2",
            "TIMELEDGER_WEBHOOKS_LEASE": "45",
        }
    )
    assert TargetPolicy.of(settings) == RELAXED
    assert (settings.webhooks_in_process, settings.webhooks_poll_interval) == (False, 0.2)
    assert settings.webhooks_lease == 45
    assert TargetPolicy.of(Settings.from_env({})) == STRICT
    for name, value in [
        ("TIMELEDGER_WEBHOOKS_ALLOW_HTTP", "maybe"),
        ("TIMELEDGER_WEBHOOKS_LEASE", "0"),
        ("TIMELEDGER_WEBHOOKS_POLL_INTERVAL", "soon"),
    ]:
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({name: value})


def test_without_ssl_cert_file_the_sender_trusts_certifis_authorities(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    subjects = {
        dict(part[0] for part in ca["subject"]).get("organizationName")
        for ca in trusted_ssl_context().get_ca_certs()
    }
    assert {"Internet Security Research Group", "DigiCert Inc"} <= subjects
