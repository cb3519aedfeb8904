"""Helpers of the client-side tests: a free port, the console scripts, accounts."""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from timeledger.client import Timeledger
from timeledger.server.accounts.bootstrap import init_account
from timeledger.server.accounts.schemas import AccountCreate
from timeledger.server.db import Database

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Account:
    """A fresh account: its owner's write key, and a project (code WEB, 100/h) with a task
    assigned to it."""

    url: str
    token: str
    account_id: str
    user_id: str
    project_id: str
    task_id: str

    def client(self, **options: object) -> Timeledger:
        return Timeledger(**{"api_key": self.token, "base_url": self.url, **options})


def make_account(db: Database, url: str, name: str = "Acme") -> Account:
    with db.transaction(write=True) as session:
        new = init_account(session, AccountCreate(name=name), f"owner@{name.lower()}.example")
        ids = str(new.account.id), str(new.owner.id)
    with Timeledger(api_key=new.token, base_url=url) as client:
        project = client.projects.create(
            name="Website", code="WEB", bill_by="Project", hourly_rate=100
        )
        task = client.tasks.create(name="Development")
        client.projects.task_assignments.create(project.id, task_id=task.id)
    return Account(url, new.token, *ids, project.id, task.id)
