"""How /api/v2 sends an export: a streamed download whose rows are read in a read
transaction of its own (the request's has committed by the time the body streams)."""

from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import StreamingResponse

from timeledger.server.reports import export
from timeledger.server.surfaces.http import database


def download(request: Request, table: export.Table, fmt: str, basename: str) -> StreamingResponse:
    db = database(request)
    body = export.stream(lambda: db.transaction(write=False), table, fmt)
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return StreamingResponse(
        body,
        media_type=export.CONTENT_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{basename}-{stamp}.{fmt}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
