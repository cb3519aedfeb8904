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
        tables = Account.metadata.tables
        self._owner = database.keyed_read(tables[ApiKey.__tablename__], "key_id", "account_id")
        self._version = database.keyed_read(
            tables[Account.__tablename__], "id", "credentials_version"
        )

    def authenticate(self, token: str | None, surface: str) -> Authenticated:
        """The caller behind a token, or NotAuthenticated with the reason."""
        key_id, secret = keys.parse_token(token)
        known = self._known.get(key_id)
        if known is not None and self._version.now(known.row[2].id) != (known.version,):
            known = None
        return self._caller(key_id, secret, surface, known or self._load(key_id))

    async def authenticate_on_loop(self, token: str | None, surface: str) -> Authenticated:
        """authenticate, for the event loop: a remembered key costs one read on the loop (shared
        with the requests waiting at the same moment); only loading a key (rows through the
        ORM) goes to a worker thread."""
        key_id, secret = keys.parse_token(token)
        known = self._known.get(key_id)
        if known is not None:
            version = await self._version.on_loop(known.row[2].id)
            if version == (known.version,):
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

    def _load(self, key_id: str) -> _Known | None:
        owner = self._owner.now(key_id)
        if owner is None:
            return None
        version = self._version.now(owner[0])
        # A new transaction, begun after the version was read: its rows are no older.
        with self.database.transaction(write=False) as session:
            row = keys.lookup(session, key_id)
        if row is None or version is None:
            return None
        known = _Known(version[0], row)
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
