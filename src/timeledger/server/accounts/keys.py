"""API keys: minting, listing, revoking, and turning a presented token into an Actor.

A token reads `tlk_<key id>_<secret>`. The prefix lets secret scanners spot leaked keys; the
key id finds the row without scanning; only a SHA-256 of the secret is stored (the secret is
32 random bytes, so a fast hash is enough: there is nothing to brute-force) and it is compared
in constant time. Every request checks the key (credentials.py), so a revocation takes effect
at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from timeledger.server.accounts.models import Account, ApiKey, User
from timeledger.server.accounts.schemas import ApiKeyCreate
from timeledger.server.accounts.service import get_user
from timeledger.server.audit import trail
from timeledger.server.core.actor import Actor, Role
from timeledger.server.core.clock import utcnow
from timeledger.server.core.crud import Page, get_scoped, paginate, scoped, snapshot
from timeledger.server.core.errors import (
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from timeledger.server.core.ids import parse_id
from timeledger.server.outbox.service import emit
from timeledger.server.webhooks import service as webhooks

TOKEN_PREFIX = "tlk"  # noqa: S105 (a public prefix, not a secret)
# last_used_at is a hint, not an audit trail: stamping it at most once a minute keeps
# read requests from becoming writes.
LAST_USED_RESOLUTION = timedelta(seconds=60)


@dataclass(frozen=True)
class MintedKey:
    key: ApiKey
    token: str  # shown once, never stored


@dataclass(frozen=True)
class Authenticated:
    actor: Actor
    account: Account
    user: User
    key: ApiKey
    # What a surface renders from these rows alone, kept as long as this caller is: the
    # rows do not change under it (accounts/credentials.py makes a new one when they do).
    rendered: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def needs_last_used_stamp(self) -> bool:
        last = self.key.last_used_at
        return last is None or utcnow() - last >= LAST_USED_RESOLUTION


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint(
    session: Session,
    actor: Actor | None,
    *,
    account_id: uuid.UUID,
    user: User,
    name: str,
    scope: str,
    expires_at: datetime | None = None,
) -> MintedKey:
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        account_id=account_id,
        key_id=key_id,
        secret_hash=_hash(secret),
        user_id=user.id,
        name=name,
        scope=scope,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    data = public_view(key)
    emit(session, account_id, "api_key.created", data)
    trail.record(session, actor, "api_key.created", key, None, data)
    return MintedKey(key=key, token=f"{TOKEN_PREFIX}_{key_id}_{secret}")


def public_view(key: ApiKey) -> dict[str, object]:
    data = snapshot(key)
    del data["secret_hash"]
    return data


def create_key(session: Session, actor: Actor, command: ApiKeyCreate) -> MintedKey:
    actor.require(Role.admin, "creating API keys")
    try:
        user = get_user(session, actor, command.user_id or actor.user_id)
    except NotFound:  # an id in the body, not the URL: the request is what is wrong
        raise ValidationFailed(
            "user_id does not name a user of this account", field="user_id"
        ) from None
    if Role[user.role] > actor.role:
        # A key acts as its user: minting one for a higher role would be a promotion.
        raise PermissionDenied(
            f"creating a key for a user with the {user.role} role requires the {user.role} "
            f"role or higher; you are a {actor.role.name}"
        )
    if not user.is_active:
        raise ValidationFailed("cannot create a key for a deactivated user", field="user_id")
    if command.expires_at is not None and command.expires_at <= utcnow():
        raise ValidationFailed("expires_at must be in the future", field="expires_at")
    return mint(
        session,
        actor,
        account_id=actor.account_id,
        user=user,
        name=command.name,
        scope=command.scope,
        expires_at=command.expires_at,
    )


def list_keys(session: Session, actor: Actor, *, page: int, per_page: int) -> Page[ApiKey]:
    actor.require(Role.admin, "listing API keys")
    return paginate(
        session, scoped(ApiKey, actor.account_id).order_by(ApiKey.id.desc()), page, per_page
    )


def get_key(session: Session, actor: Actor, key_id: str) -> ApiKey:
    actor.require(Role.admin, "reading API keys")
    return get_scoped(session, ApiKey, actor.account_id, parse_id(key_id), "API key")


def revoke_key(session: Session, actor: Actor, key_id: str) -> ApiKey:
    key = get_key(session, actor, key_id)
    if Role[key.user.role] > actor.role:
        raise PermissionDenied(
            f"revoking a key of a user with the {key.user.role} role requires that role; "
            f"you are a {actor.role.name}"
        )
    return revoke(session, actor, key)


def revoke(session: Session, actor: Actor | None, key: ApiKey) -> ApiKey:
    """Revoke a key; the webhook subscriptions it created go with it. `actor` None: an
    operator command (recorded as the system)."""
    if key.revoked_at is None:
        before = public_view(key)
        key.revoked_at = utcnow()
        session.flush()
        after = public_view(key)
        emit(session, key.account_id, "api_key.revoked", after)
        trail.record(session, actor, "api_key.revoked", key, before, after)
        webhooks.remove_for_key(session, key.account_id, key.id)
    return key


def find_key(session: Session, key_id: str) -> ApiKey | None:
    """A key by the id an operator sees (`keys list`), for the CLI's revoke."""
    uid = parse_id(key_id)
    if uid is None:
        return None
    return session.get(ApiKey, uid)


# Built once: this runs on every request, and building the statement costs more than running it.
_KEY_LOOKUP = (
    select(ApiKey, User, Account)
    .join(User, User.id == ApiKey.user_id)
    .join(Account, Account.id == ApiKey.account_id)
    .where(ApiKey.key_id == bindparam("key_id"))
)


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not key_id or not secret or len(key_id) > 32:
        return None
    return key_id, secret


def lookup(session: Session, key_id: str) -> tuple[ApiKey, User, Account] | None:
    """A key with its user and account, by the key id of a token."""
    row = session.execute(_KEY_LOOKUP, {"key_id": key_id}).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def secret_matches(secret_hash: str | None, secret: str) -> bool:
    """Constant time; compares even without a stored hash, so timing does not reveal which
    key ids exist."""
    return hmac.compare_digest(secret_hash or _hash(""), _hash(secret)) and bool(secret_hash)


def authenticate(session: Session, token: str | None, *, surface: str = "api") -> Authenticated:
    """The caller behind a token, or NotAuthenticated with the reason."""
    key_id, secret = parse_token(token)
    return verify(lookup(session, key_id), secret, surface)


def parse_token(token: str | None) -> tuple[str, str]:
    """(key id, secret) of a presented token, or NotAuthenticated."""
    if not token:
        raise NotAuthenticated(
            "missing API key: send Authorization: Bearer <key>", code="missing_token"
        )
    parts = split_token(token)
    if parts is None:
        raise NotAuthenticated("the API key is malformed")
    return parts


def verify(row: tuple[ApiKey, User, Account] | None, secret: str, surface: str) -> Authenticated:
    """The caller, when `secret` is the secret of this looked-up key and the key may be used."""
    matches = secret_matches(row[0].secret_hash if row is not None else None, secret)
    if row is None or not matches:
        raise NotAuthenticated("the API key is invalid")
    key, user, account = row
    if key.revoked_at is not None:
        raise NotAuthenticated("the API key has been revoked", code="revoked_token")
    if key.expires_at is not None and key.expires_at <= utcnow():
        raise NotAuthenticated("the API key has expired", code="expired_token")
    if not user.is_active:
        raise NotAuthenticated("the API key's user is deactivated")
    actor = Actor(
        account_id=account.id,
        user_id=user.id,
        role=Role[user.role],
        api_key_id=key.id,
        scope=key.scope,
        surface=surface,
    )
    return Authenticated(actor=actor, account=account, user=user, key=key)


def mark_stamped(key: ApiKey) -> None:
    """Note on a remembered key (credentials.py) that its last use is being stamped now, so
    other requests need not: not a change to save, nor a change of credentials."""
    set_committed_value(key, "last_used_at", utcnow())


def stamp_last_used(session: Session, key_pk: uuid.UUID) -> None:
    key = session.get(ApiKey, key_pk)
    if key is not None:
        key.last_used_at = utcnow()
