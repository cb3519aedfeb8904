"""Accounts, their company settings and their users."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timeledger.server.accounts.models import Account, User
from timeledger.server.accounts.schemas import (
    SELF_EDITABLE,
    AccountCreate,
    CompanyUpdate,
    UserCreate,
    UserUpdate,
)
from timeledger.server.accounts.settings import SETTING_NAMES, AccountSettings
from timeledger.server.audit import trail
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.crud import Page, apply_changes, get_scoped, paginate, scoped, snapshot
from timeledger.server.core.errors import Conflict, NotFound
from timeledger.server.core.ids import parse_id
from timeledger.server.outbox.service import emit

# --- the account ("company") -------------------------------------------------------------


def create_account(session: Session, command: AccountCreate) -> Account:
    account = Account(**command.model_dump(), settings=AccountSettings().to_json())
    session.add(account)
    session.flush()
    return account


def get_account(session: Session, account_id: uuid.UUID) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound("account")
    return account


def update_company(session: Session, actor: Actor, command: CompanyUpdate) -> Account:
    actor.require(Role.admin, "changing company settings")
    account = get_account(session, actor.account_id)
    before = _company_record(account)
    changes = command.changes()
    updates = {key: changes.pop(key) for key in SETTING_NAMES if key in changes}
    changed = apply_changes(account, changes)
    if updates:
        merged = replace(AccountSettings.of(account), **updates).to_json()
        if merged != account.settings:
            account.settings = merged
            changed["settings"] = merged
    if changed:
        session.flush()
        emit(session, account.id, "company.updated", snapshot(account))
        trail.record(session, actor, "company.updated", account, before, _company_record(account))
    return account


def _company_record(account: Account) -> dict[str, Any]:
    """The account as the audit trail records it: each setting a field of its own."""
    data = snapshot(account)
    settings = data.pop("settings")
    return {**data, **settings}


# --- users ---------------------------------------------------------------------------------


def list_users(
    session: Session,
    actor: Actor,
    *,
    page: int,
    per_page: int,
    is_active: bool | None = None,
    updated_since: datetime | None = None,
) -> Page[User]:
    stmt = scoped(User, actor.account_id)
    if is_active is not None:
        stmt = stmt.where(User.is_active == is_active)
    if updated_since is not None:
        stmt = stmt.where(User.updated_at >= updated_since)
    return paginate(session, stmt.order_by(User.id.desc()), page, per_page)


def get_user(session: Session, actor: Actor, user_id: str | uuid.UUID) -> User:
    uid = user_id if isinstance(user_id, uuid.UUID) else parse_id(user_id)
    return get_scoped(session, User, actor.account_id, uid, "user")


def create_user(session: Session, actor: Actor, command: UserCreate) -> User:
    actor.require(Role.admin, "adding users")
    if command.role == "owner":
        actor.require(Role.owner, "making someone an owner")
    _ensure_email_free(session, actor.account_id, command.email)
    user = User(account_id=actor.account_id, **command.model_dump())
    session.add(user)
    session.flush()
    data = snapshot(user)
    emit(session, actor.account_id, "user.created", data)
    trail.record(session, actor, "user.created", user, None, data)
    return user


def create_owner(session: Session, account: Account, email: str) -> User:
    """The first user of a new account (bootstrap: there is no actor yet)."""
    user = User(account_id=account.id, email=email.lower(), role="owner", user_type="human")
    session.add(user)
    session.flush()
    data = snapshot(user)
    emit(session, account.id, "user.created", data)
    trail.record(session, None, "user.created", user, None, data)
    return user


def update_user(session: Session, actor: Actor, user_id: str, command: UserUpdate) -> User:
    user = get_user(session, actor, user_id)
    changes = command.changes()
    if not (user.id == actor.user_id and changes.keys() <= SELF_EDITABLE):
        actor.require(Role.admin, "changing other users, roles, rates or status")
    touches_owner = user.role == "owner" or changes.get("role") == "owner"
    if touches_owner and ("role" in changes or "is_active" in changes):
        actor.require(Role.owner, "changing an owner's role or status")
    if "email" in changes and changes["email"] != user.email:
        _ensure_email_free(session, actor.account_id, changes["email"])
    loses_owner = user.role == "owner" and (
        changes.get("role", "owner") != "owner" or changes.get("is_active", True) is False
    )
    if loses_owner and _active_owner_count(session, actor.account_id) <= 1:
        raise Conflict("an account must keep at least one active owner", field="role")
    before = snapshot(user)
    if apply_changes(user, changes):
        session.flush()
        after = snapshot(user)
        emit(session, actor.account_id, "user.updated", after)
        trail.record(session, actor, "user.updated", user, before, after)
    return user


def deactivate_user(session: Session, actor: Actor, user_id: str) -> User:
    return update_user(session, actor, user_id, UserUpdate(is_active=False))


def _ensure_email_free(session: Session, account_id: uuid.UUID, email: str) -> None:
    taken = session.scalar(
        select(User.id).where(User.account_id == account_id, User.email == email)
    )
    if taken is not None:
        raise Conflict(f"a user with email {email} already exists", field="email")


def _active_owner_count(session: Session, account_id: uuid.UUID) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                User.account_id == account_id, User.role == "owner", User.is_active.is_(True)
            )
        )
        or 0
    )
