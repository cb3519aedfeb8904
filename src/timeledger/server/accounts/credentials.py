"""Who presents a token: answered from what this process already knows about the key,
re-checked on every request so that a revocation still takes effect at once, in every
process.

Loading a key with its user and account through the ORM costs several times what serving a
small request does. So each process keeps, per key, those rows as they were when loaded and
the account's `credentials_version` read just before them. Every change to an account, its
users or its keys raises that version in the same transaction (database triggers, migration
0013, so whoever the writer is). A request reads only that one integer, from committed data,
and reloads the key when it differs: a revoked key, a deactivated user or a changed plan is
seen by the next request, as when every request looked the key up.

The version is read before the rows: a change committed between the two reads leaves newer
rows with an older version, which the next request reloads; never the other way round."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field

import anyio.to_thread

from timeledger.server.accounts import keys
from timeledger.server.accounts.keys import Authenticated
from timeledger.server.accounts.models import Account, ApiKey, User
from timeledger.server.core.clock import utcnow
from timeledger.server.db import Database

# Made-up key ids are never remembered; this bounds what real ones can take.
MAX_KNOWN_KEYS = 100_000


@dataclass
class _Known:
    version: int
    row: tuple[ApiKey, User, Account]
    # Authenticated per surface, made once: the actor differs only in its surface.
    by_surface: dict[str, Authenticated] = field(default_factory=dict)


class Credentials:
    """The per-process memory of API keys. Thread-safe; `authenticate` does no I/O beyond one
    small read of committed data (a worker thread's job on PostgreSQL)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()
        # In the driver's own dialect; the values are bound, never formatted in.
        mark = "?" if database.is_sqlite else "%s"
        self._account_sql = f"SELECT account_id FROM api_keys WHERE key_id = {mark}"  # noqa: S608
        self._version_sql = f"SELECT credentials_version FROM accounts WHERE id = {mark}"  # noqa: S608
        # See Database.read_keyed_on_loop.
        of_keys = "IN (SELECT value FROM json_each(?))" if database.is_sqlite else "= ANY(%s)"
        self._keyed_version_sql = f"SELECT id, credentials_version FROM accounts WHERE id {of_keys}"  # noqa: S608

    def authenticate(self, token: str | None, surface: str) -> Authenticated:
        """The caller behind a token, or NotAuthenticated with the reason."""
        key_id, secret = keys.parse_token(token)
        known = self._known.get(key_id)
        if known is not None and self._version(known.row[2].id) != known.version:
            known = None
        return self._caller(key_id, secret, surface, known or self._load(key_id))

    async def authenticate_on_loop(self, token: str | None, surface: str) -> Authenticated:
        """authenticate, for the event loop: a remembered key costs one read on the loop (shared
        with the requests waiting at the same moment); only loading a key (rows through the
        ORM) goes to a worker thread."""
        key_id, secret = keys.parse_token(token)
        known = self._known.get(key_id)
        if known is not None:
            account_id = self._bind(known.row[2].id)
            row = await self.database.read_keyed_on_loop(self._keyed_version_sql, account_id)
            if row is not None and int(row[1]) == known.version:
                return self._caller(key_id, secret, surface, known)
        return await anyio.to_thread.run_sync(self.authenticate, token, surface)

    def _caller(
        self, key_id: str, secret: str, surface: str, known: _Known | None
    ) -> Authenticated:
        if known is None:
            return keys.verify(None, secret, surface)  # raises, in constant time
        auth = known.by_surface.get(surface)
        if auth is None or not _still_valid(auth, secret):
            auth = keys.verify(known.row, secret, surface)  # raises the reason it is not
            known.by_surface[surface] = auth
        return auth

    def _version(self, account_id: uuid.UUID) -> int | None:
        row = self.database.read_one(self._version_sql, (self._bind(account_id),))
        return None if row is None else int(row[0])

    def _bind(self, value: uuid.UUID) -> object:
        return value.hex if self.database.is_sqlite else value  # how each stores a Uuid

    def _load(self, key_id: str) -> _Known | None:
        owner = self.database.read_one(self._account_sql, (key_id,))
        if owner is None:
            return None
        account_id = owner[0] if isinstance(owner[0], uuid.UUID) else uuid.UUID(owner[0])
        version = self._version(account_id)
        # A new transaction, begun after the version was read: its rows are no older.
        with self.database.transaction(write=False) as session:
            row = keys.lookup(session, key_id)
        if row is None or version is None:
            return None
        known = _Known(version, row)
        with self._lock:
            if len(self._known) >= MAX_KNOWN_KEYS:
                self._known.clear()
            self._known[key_id] = known
        return known


def _still_valid(auth: Authenticated, secret: str) -> bool:
    key = auth.key
    if not keys.secret_matches(key.secret_hash, secret):
        return False
    return key.expires_at is None or key.expires_at > utcnow()
