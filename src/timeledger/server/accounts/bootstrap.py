"""Creating an account from nothing: the account, its owner and a first write key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from timeledger.server.accounts import keys, service
from timeledger.server.accounts.models import Account, User
from timeledger.server.accounts.schemas import AccountCreate


@dataclass(frozen=True)
class NewAccount:
    account: Account
    owner: User
    token: str


def init_account(session: Session, command: AccountCreate, owner_email: str) -> NewAccount:
    account = service.create_account(session, command)
    owner = service.create_owner(session, account, owner_email)
    minted = keys.mint(
        session, None, account_id=account.id, user=owner, name="first key", scope="write"
    )
    return NewAccount(account=account, owner=owner, token=minted.token)


def has_accounts(session: Session) -> bool:
    return session.scalar(select(Account.id).limit(1)) is not None
