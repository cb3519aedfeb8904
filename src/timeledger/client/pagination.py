"""List calls answer a page: its items in `data`, the totals, `has_next_page()` and
`next_page()`. Iterating a page walks every item from it to the last page, fetching as it goes.

    page = client.time_entries.list(per_page=50)
    page.data, page.total_entries, page.total_pages
    for entry in client.time_entries.list(project_id=p):   # every page
        ...
    async for entry in await aclient.time_entries.list():  # the same, async
        ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from timeledger.client._http import AsyncTransport, Call, Request, SyncTransport

M = TypeVar("M")


@dataclass(frozen=True)
class Listing(Generic[M]):
    """What a list call asks for: a collection, the key of its items, its filters."""

    path: str
    key: str
    item: Callable[[Mapping[str, Any]], M]
    params: Mapping[str, Any]
    page: int = 1

    def request(self) -> Request:
        return Request("GET", self.path, params={**self.params, "page": self.page})

    def at(self, page: int) -> Listing[M]:
        return replace(self, page=page)


class _PageBase(Generic[M]):
    def __init__(self, listing: Listing[M], envelope: Mapping[str, Any]) -> None:
        self._listing = listing
        self.data: list[M] = [listing.item(row) for row in envelope.get(listing.key) or ()]
        self.page: int = int(envelope.get("page") or listing.page)
        self.per_page: int | None = envelope.get("per_page")
        # Without totals the answer is all there is.
        self.total_entries: int = int(envelope.get("total_entries", len(self.data)))
        self.total_pages: int = int(envelope.get("total_pages") or self.page)

    def has_next_page(self) -> bool:
        return bool(self.data) and self.page < self.total_pages

    def _next(self) -> Listing[M]:
        if not self.has_next_page():
            raise IndexError(f"page {self.page} is the last page")
        return self._listing.at(self.page + 1)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.page}/{self.total_pages} of {self._listing.path}: "
            f"{len(self.data)} of {self.total_entries} items>"
        )


def every(listing: Listing[M]) -> Call[list[M]]:
    """Every item of a listing, page after page, inside a Call."""
    items: list[M] = []
    while True:
        page = _PageBase(listing, (yield listing.request()))
        items.extend(page.data)
        if not page.has_next_page():
            return items
        listing = listing.at(page.page + 1)


class Page(_PageBase[M]):
    def __init__(self, io: SyncTransport, listing: Listing[M], envelope: Mapping[str, Any]) -> None:
        super().__init__(listing, envelope)
        self._io = io

    @classmethod
    def first(cls, io: SyncTransport, listing: Listing[M]) -> Page[M]:
        return cls(io, listing, io.send(listing.request()))

    def next_page(self) -> Page[M]:
        """The following page; IndexError after the last one."""
        return self.first(self._io, self._next())

    def iter_pages(self) -> Iterator[Page[M]]:
        page = self
        yield page
        while page.has_next_page():
            page = page.next_page()
            yield page

    def __iter__(self) -> Iterator[M]:
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(_PageBase[M]):
    def __init__(
        self, io: AsyncTransport, listing: Listing[M], envelope: Mapping[str, Any]
    ) -> None:
        super().__init__(listing, envelope)
        self._io = io

    @classmethod
    async def first(cls, io: AsyncTransport, listing: Listing[M]) -> AsyncPage[M]:
        return cls(io, listing, await io.send(listing.request()))

    async def next_page(self) -> AsyncPage[M]:
        """The following page; IndexError after the last one."""
        return await self.first(self._io, self._next())

    async def iter_pages(self) -> AsyncIterator[AsyncPage[M]]:
        page = self
        yield page
        while page.has_next_page():
            page = await page.next_page()
            yield page

    async def __aiter__(self) -> AsyncIterator[M]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item
