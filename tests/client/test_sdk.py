"""The SDK against the live server: resources and typed models, pagination, the error tree,
the track helper, webhook signatures (sync and async)."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from clientkit import Account, free_port

from timeledger.client import (
    APIConnectionError,
    APITimeoutError,
    AsyncTimeledger,
    AuthenticationError,
    ConflictError,
    NotFoundError,
    OutcomeTypes,
    Page,
    PermissionDeniedError,
    TimeledgerError,
    ValidationError,
    WebhookVerificationError,
    verify_signature,
)
from timeledger.client.models import TimeEntry
from timeledger.server.webhooks.signing import sign


def test_catalogue_round_trip_with_typed_models(account: Account):
    with account.client() as client:
        me = client.users.me()
        assert (me.id, me.email, me.role) == (account.user_id, "owner@acme.example", "owner")
        assert client.company.today() == datetime.now(UTC).date()  # the account is on UTC

        acme = client.clients.create(name="Initech", currency="EUR", tax=Decimal("19.5"))
        assert isinstance(acme.tax, Decimal) and acme.tax == Decimal("19.5")
        assert client.clients.update(acme.id, address="1 Main St").address == "1 Main St"
        assert client.clients.resolve("initech").id == acme.id
        contact = client.contacts.create(client_id=acme.id, first_name="Jane", email="j@x.io")
        assert contact.client is not None and contact.client.id == acme.id
        assert [c.id for c in client.contacts.list(client_id=acme.id)] == [contact.id]

        agent = client.users.create(email="Bot@Acme.example", user_type="agent", first_name="Bot")
        assert (agent.email, agent.user_type, agent.name) == ("bot@acme.example", "agent", "Bot")
        assert client.users.update(agent.id, last_name="One").name == "Bot One"
        assert {u.id for u in client.users.list()} == {account.user_id, agent.id}
        assert client.users.deactivate(agent.id).is_active is False
        assert client.company.update(name="Acme Inc").name == "Acme Inc"

        assert client.projects.resolve("web").id == account.project_id  # by code
        assert client.projects.resolve("WEBSITE").id == account.project_id  # by name
        task = client.tasks.resolve("development", project_id=account.project_id)
        assert task.id == account.task_id
        with pytest.raises(NotFoundError, match="no project named 'Nope'"):
            client.projects.resolve("Nope")

        assert client.contacts.delete(contact.id).deleted
        assert client.clients.delete(acme.id).deleted
        with pytest.raises(NotFoundError):
            client.clients.get(acme.id)


def test_time_entries_decimal_money_metadata_and_timer_actions(account: Account):
    with account.client() as client:
        entry = client.time_entries.create(
            project_id=account.project_id,
            task_id=account.task_id,
            spent_date="2026-03-05",
            hours=Decimal("1.25"),
            notes="Review",
            metadata={"model": "m1", "cost_usd": Decimal("0.18")},
        )
        assert isinstance(entry, TimeEntry)
        assert entry.hours == Decimal("1.25") and isinstance(entry.hours, Decimal)
        assert entry.billable_amount == Decimal("125")
        assert entry.spent_date == date(2026, 3, 5)
        assert entry.source == "api"
        assert entry.metadata == {"model": "m1", "cost_usd": Decimal("0.18")}
        assert entry.raw["id"] == entry.id

        merged = client.time_entries.update(entry.id, metadata={"tokens_in": 10})
        assert merged.metadata == {"model": "m1", "cost_usd": Decimal("0.18"), "tokens_in": 10}
        assert client.time_entries.get(entry.id) == merged

        running = client.timers.start(account.project_id, account.task_id, notes="timer")
        assert running.is_running and client.timers.current() == running
        stopped = client.timers.stop(notes="done")
        assert stopped is not None and not stopped.is_running and stopped.notes == "done"
        assert client.timers.current() is None and client.timers.stop() is None
        restarted = client.time_entries.restart(stopped.id)
        assert restarted.is_running
        assert not client.time_entries.stop(restarted.id).is_running

        client.time_entries.delete(entry.id)
        with pytest.raises(NotFoundError):
            client.time_entries.get(entry.id)


def test_bulk_approvals_stats_search_export_templates(account: Account):
    with account.client() as client:
        base = {"project_id": account.project_id, "task_id": account.task_id}
        made = client.time_entries.bulk.create(
            [
                {**base, "spent_date": "2026-03-02", "hours": 2, "notes": "alpha release"},
                {**base, "spent_date": "2026-03-03", "hours": "0.5", "notes": "beta"},
            ]
        )
        assert [e.hours for e in made] == [Decimal(2), Decimal("0.5")]
        changed = client.time_entries.bulk.update([{"id": made[1].id, "notes": "gamma"}])
        assert changed[0].notes == "gamma"

        stats = client.time_entries.stats(
            group_by="day", from_date="2026-03-01", to_date="2026-03-31"
        )
        assert [(r.key, r.hours) for r in stats.results] == [
            ("2026-03-02", Decimal(2)),
            ("2026-03-03", Decimal("0.5")),
        ]
        assert stats.totals[0].billable_amount == Decimal(250)
        assert [e.id for e in client.time_entries.search("alpha")] == [made[0].id]
        progress: list[tuple[int, int | None]] = []
        csv = client.time_entries.export(
            format="csv", from_date="2026-03-01", progress=lambda *p: progress.append(p)
        )
        assert csv.startswith(b"id,spent_date") and csv.count(b"\n") == 3
        assert progress and progress[-1][0] == len(csv)

        client.time_entries.submit(user_id=account.user_id, from_date="2026-03-03")
        [sent_back] = client.time_entries.request_changes([made[1].id], reason="which beta?")
        assert (sent_back.approval_status, sent_back.rejection_reason) == (
            "rejected",
            "which beta?",
        )

        submitted = client.time_entries.submit([made[0].id])
        assert submitted[0].approval_status == "submitted"
        approved = client.time_entries.approve([made[0].id])
        assert approved[0].approval_status == "approved" and approved[0].is_locked
        with pytest.raises(ConflictError) as locked:
            client.time_entries.delete(made[0].id)
        assert locked.value.code == "locked"
        client.time_entries.unlock([made[0].id])

        template = client.time_entry_templates.create(name="Standup", hours="0.25", **base)
        from_template = client.time_entries.from_template(template.id, spent_date="2026-03-04")
        assert from_template.hours == Decimal("0.25")
        assert client.time_entries.bulk.delete([m.id for m in made]) == [m.id for m in made]


def test_expenses_outcomes_reports_keys_and_webhooks(account: Account):
    with account.client() as client:
        tokens = client.expense_categories.create(
            name="Tokens", unit_name="token", unit_price=Decimal("0.000002")
        )
        expense = client.expenses.create(
            project_id=account.project_id,
            expense_category_id=tokens.id,
            spent_date="2026-03-05",
            units=1_000_000,
        )
        assert expense.total_cost == Decimal("2")
        assert [e.id for e in client.expenses.list(from_date="2026-03-01")] == [expense.id]
        pdf = b"%PDF-1.4\n%%EOF\n"
        with_receipt = client.expenses.attach_receipt(
            expense.id, pdf, filename="bill.pdf", content_type="application/pdf"
        )
        assert with_receipt.receipt_content_type == "application/pdf"
        assert client.expenses.receipt(expense.id) == pdf

        outcome = client.outcomes.log(
            project_id=account.project_id,
            task_id=account.task_id,
            type=OutcomeTypes.TICKET_RESOLVED,
            unit_price="0.99",
            quantity=3,
            spent_date="2026-03-05",
        )
        assert (outcome.revenue, outcome.source) == (Decimal("2.97"), "agent")
        assert [o.id for o in client.outcomes.list(type="ticket_resolved")] == [outcome.id]

        summary = client.reports.agent_summary("2026-03-01", "2026-03-31")
        assert (summary.outcomes.total, summary.outcomes.revenue) == (1, Decimal("2.97"))
        assert summary.from_date == date(2026, 3, 1)
        team = list(client.reports.team_time("20260301", "20260331"))
        assert [row.user_id for row in team] == [account.user_id]
        exported = client.reports.export("time/projects", "2026-03-01", "2026-03-31")
        assert exported.startswith(b"currency,total_hours") and b",Website," in exported

        key = client.api_keys.create(name="reporting", scope="read")
        assert key.token and key.token.startswith("tlk_")
        assert client.api_keys.revoke(key.id).revoked_at is not None

        hook = client.webhooks.create(url="http://127.0.0.1:9/hook", events=["time_entry.created"])
        assert hook.secret and hook.secret.startswith("whsec_")
        delivery = client.webhooks.ping(hook.id)
        assert (delivery.event_type, delivery.status) == ("webhook.ping", "pending")
        assert [d.id for d in client.webhooks.deliveries.list(hook.id)] == [delivery.id]
        assert client.webhooks.update(hook.id, active=False).active is False
        assert client.webhooks.delete(hook.id).deleted


def test_pagination_walks_every_page(account: Account):
    with account.client() as client:
        base = {"project_id": account.project_id, "task_id": account.task_id, "hours": 1}
        days = [f"2026-04-{day:02d}" for day in range(1, 8)]
        client.time_entries.bulk.create([{**base, "spent_date": day} for day in days])

        first = client.time_entries.list(per_page=3)
        assert isinstance(first, Page)
        assert (len(first.data), first.total_entries, first.total_pages) == (3, 7, 3)
        assert first.has_next_page()
        second = first.next_page()
        assert second.page == 2 and second.data[0].id not in {e.id for e in first.data}
        assert [len(p.data) for p in first.iter_pages()] == [3, 3, 1]
        walked = [entry.spent_date.isoformat() for entry in first]
        assert sorted(walked) == days and len(set(walked)) == 7
        last = second.next_page()
        assert not last.has_next_page()
        with pytest.raises(IndexError):
            last.next_page()


def test_async_client_pages_and_errors(account: Account):
    async def scenario() -> None:
        async with AsyncTimeledger(api_key=account.token, base_url=account.url) as client:
            base = {"project_id": account.project_id, "task_id": account.task_id, "hours": 1}
            days = [f"2026-05-{day:02d}" for day in range(1, 6)]
            await client.time_entries.bulk.create([{**base, "spent_date": d} for d in days])
            page = await client.time_entries.list(per_page=2)
            assert (page.total_entries, page.total_pages) == (5, 3)
            assert sorted([e.spent_date.isoformat() async for e in page]) == days
            assert (await page.next_page()).page == 2
            started = await client.timers.start(account.project_id, account.task_id)
            with pytest.raises(ConflictError):
                await client.timers.start(account.project_id, account.task_id)
            assert (await client.timers.stop()).id == started.id

    asyncio.run(scenario())


def test_each_status_has_its_error_class(account: Account):
    with account.client(max_retries=0) as client:
        with pytest.raises(NotFoundError) as missing:
            client.projects.get("01a21ae0-0000-7000-8000-000000000000")
        assert (missing.value.status, missing.value.code) == (404, "not_found")

        with pytest.raises(ValidationError) as invalid:
            client.time_entries.create(
                project_id=account.project_id, task_id=account.task_id, spent_date="05/03/2026"
            )
        assert (invalid.value.status, invalid.value.field) == (400, "spent_date")
        assert "YYYY-MM-DD" in invalid.value.description

        client.timers.start(account.project_id, account.task_id)
        with pytest.raises(ConflictError) as conflict:
            client.timers.start(account.project_id, account.task_id)
        assert (conflict.value.status, conflict.value.code) == (409, "timer_running")

        reader = client.api_keys.create(name="read only", scope="read").token
    assert reader is not None
    with (
        account.client(api_key=reader) as read_only,
        pytest.raises(PermissionDeniedError) as denied,
    ):
        read_only.clients.create(name="Nope")
    assert denied.value.status == 403 and "read-only" in denied.value.description

    with (
        account.client(api_key="tlk_nope_nope") as stranger,
        pytest.raises(AuthenticationError) as auth,
    ):
        stranger.users.me()
    assert auth.value.status == 401 and isinstance(auth.value, TimeledgerError)


def test_timeouts_and_unreachable_servers(account: Account, proxy):
    proxy.plan("GET", "/api/v2/users/me", "hang")
    with (
        account.client(base_url=proxy.url, timeout=0.3, max_retries=0) as client,
        pytest.raises(APITimeoutError),
    ):
        client.users.me()
    with (
        account.client(
            base_url=f"http://127.0.0.1:{free_port()}", max_retries=1, backoff=0.01
        ) as client,
        pytest.raises(APIConnectionError) as unreachable,
    ):
        client.users.me()
    assert "could not talk to" in str(unreachable.value)


def test_track_records_the_run_and_its_outcomes(account: Account):
    with account.client() as client:
        with client.track(
            project_id=account.project_id,
            task_id=account.task_id,
            notes="Review PR 842",
            metadata={"agent_id": "reviewer"},
        ) as run:
            assert client.timers.current().id == run.entry.id
            run.metadata["tokens_in"] = 12_500
            run.add_outcome(OutcomeTypes.CODE_REVIEW_COMPLETED, unit_price="15.00")
        entry = client.time_entries.get(run.entry.id)
        assert not entry.is_running and entry.source == "agent"
        assert entry.metadata == {"agent_id": "reviewer", "tokens_in": 12_500}
        [outcome] = client.outcomes.list()
        assert (outcome.type, outcome.revenue) == ("code_review_completed", Decimal("15"))
        assert outcome.metadata is not None and outcome.metadata["time_entry_id"] == entry.id


def test_track_on_error_records_it_or_discards_the_entry(account: Account):
    with account.client() as client:
        with (
            pytest.raises(RuntimeError),
            client.track(project_id=account.project_id, task_id=account.task_id) as failed,
        ):
            raise RuntimeError("model overloaded")
        entry = client.time_entries.get(failed.entry.id)
        assert not entry.is_running
        assert entry.metadata == {"error": {"type": "RuntimeError", "message": "model overloaded"}}

        discarded = client.track(
            project_id=account.project_id, task_id=account.task_id, discard_on_error=True
        )
        started = []

        def fail_midway() -> None:
            with discarded:
                discarded.add_outcome("ticket_resolved")
                started.append(discarded.entry.id)
                raise KeyError("x")

        with pytest.raises(KeyError):
            fail_midway()
        assert discarded.entry is None
        with pytest.raises(NotFoundError):
            client.time_entries.get(started[0])
        assert client.timers.current() is None and list(client.outcomes.list()) == []


def test_async_track(account: Account):
    async def scenario() -> None:
        async with AsyncTimeledger(api_key=account.token, base_url=account.url) as client:
            async with client.track(project_id=account.project_id, task_id=account.task_id) as run:
                run.metadata["cost_usd"] = Decimal("0.25")
            assert run.entry is not None and not run.entry.is_running
            assert run.entry.metadata == {"cost_usd": Decimal("0.25")}
            with pytest.raises(ValueError, match="bad"):
                async with client.track(
                    project_id=account.project_id, task_id=account.task_id
                ) as failed:
                    raise ValueError("bad")
            assert failed.entry is not None
            assert failed.entry.metadata == {"error": {"type": "ValueError", "message": "bad"}}
            assert await client.timers.current() is None

    asyncio.run(scenario())


def test_verify_signature_accepts_the_servers_signatures_only():
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    rotated = "whsec_" + base64.b64encode(b"r" * 32).decode()
    body = json.dumps({"id": "ev_1", "type": "time_entry.created", "data": {}}).encode()
    now = int(time.time())
    headers = sign("standard", [rotated, secret], "msg_1", now, body)

    assert verify_signature(body, headers, secret)["type"] == "time_entry.created"
    assert verify_signature(body.decode(), headers, rotated)["id"] == "ev_1"
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_signature(body + b" ", headers, secret)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_signature(body, headers, "whsec_" + base64.b64encode(b"x" * 32).decode())
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify_signature(body, headers, secret, now=now + 301)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify_signature(body, {}, secret)
