"""/api/v2 users, company and API keys."""

from typing import Annotated, Any

from fastapi import Body, Depends, Request, Response

from timeledger.server.accounts import keys
from timeledger.server.accounts import service as accounts
from timeledger.server.accounts.schemas import ApiKeyCreate, CompanyUpdate, UserCreate, UserUpdate
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.native.catalog import active_filters
from timeledger.server.surfaces.native.deps import Caller, CurrentActor, Paging, Session, views
from timeledger.server.surfaces.native.wire import (
    ApiKeyOut,
    CompanyOut,
    CreatedApiKeyOut,
    ListEnvelope,
    UserOut,
    envelope,
    list_model,
)

router = SurfaceRouter()

UserList = list_model("users", UserOut)
ApiKeyList = list_model("api_keys", ApiKeyOut)


@router.get("/users/me", response_model=UserOut, tags=["users"], summary="The calling user")
async def me(request: Request) -> Response:
    # Asked for on every start of a client (the SDK's whoami): rendered once per caller,
    # and found without FastAPI's dependency machinery (see ContextViews.caller_of).
    caller = await views.caller_of(request)
    body = caller.rendered.get("api/v2 users/me")
    if body is None:
        body = UserOut.of(caller.user, caller.account).model_dump_json().encode()
        caller.rendered["api/v2 users/me"] = body
    return Response(body, media_type="application/json")


@router.get("/users", response_model=UserList, tags=["users"], summary="List users")
def list_users(
    request: Request,
    session: Session,
    caller: Caller,
    paging: Paging,
    filters: Annotated[dict[str, Any], Depends(active_filters)],
) -> ListEnvelope:
    page = accounts.list_users(
        session, caller.actor, page=paging.page, per_page=paging.per_page, **filters
    )
    items = [UserOut.of(user, caller.account) for user in page.items]
    return envelope(UserList, "users", page, items, request)


@router.get("/users/{id}", response_model=UserOut, tags=["users"], summary="Get a user")
def get_user(id: str, session: Session, caller: Caller) -> UserOut:
    return UserOut.of(accounts.get_user(session, caller.actor, id), caller.account)


@router.post(
    "/users",
    response_model=UserOut,
    status_code=201,
    tags=["users"],
    summary="Add a user (a person or an agent)",
)
def create_user(
    command: Annotated[UserCreate, Body()], session: Session, caller: Caller
) -> UserOut:
    return UserOut.of(accounts.create_user(session, caller.actor, command), caller.account)


@router.patch("/users/{id}", response_model=UserOut, tags=["users"], summary="Update a user")
def update_user(
    id: str, command: Annotated[UserUpdate, Body()], session: Session, caller: Caller
) -> UserOut:
    return UserOut.of(accounts.update_user(session, caller.actor, id, command), caller.account)


@router.delete(
    "/users/{id}",
    response_model=UserOut,
    tags=["users"],
    summary="Deactivate a user (their history stays; their keys stop working)",
)
def deactivate_user(id: str, session: Session, caller: Caller) -> UserOut:
    return UserOut.of(accounts.deactivate_user(session, caller.actor, id), caller.account)


@router.get("/company", response_model=CompanyOut, tags=["company"], summary="The account")
async def get_company(caller: Caller) -> CompanyOut:
    return CompanyOut.of(caller.account)


@router.patch(
    "/company", response_model=CompanyOut, tags=["company"], summary="Update the account's settings"
)
def update_company(
    command: Annotated[CompanyUpdate, Body()], session: Session, actor: CurrentActor
) -> CompanyOut:
    return CompanyOut.of(accounts.update_company(session, actor, command))


@router.get("/api_keys", response_model=ApiKeyList, tags=["api keys"], summary="List API keys")
def list_keys(
    request: Request, session: Session, actor: CurrentActor, paging: Paging
) -> ListEnvelope:
    page = keys.list_keys(session, actor, page=paging.page, per_page=paging.per_page)
    items = [ApiKeyOut.of(key, key.user) for key in page.items]
    return envelope(ApiKeyList, "api_keys", page, items, request)


@router.get("/api_keys/{id}", response_model=ApiKeyOut, tags=["api keys"], summary="Get an API key")
def get_key(id: str, session: Session, actor: CurrentActor) -> ApiKeyOut:
    key = keys.get_key(session, actor, id)
    return ApiKeyOut.of(key, key.user)


@router.post(
    "/api_keys",
    response_model=CreatedApiKeyOut,
    status_code=201,
    tags=["api keys"],
    summary="Create an API key; its token is shown in this response only",
)
def create_key(
    command: Annotated[ApiKeyCreate, Body()], session: Session, actor: CurrentActor
) -> CreatedApiKeyOut:
    minted = keys.create_key(session, actor, command)
    out = ApiKeyOut.of(minted.key, minted.key.user)
    return CreatedApiKeyOut(**out.model_dump(), token=minted.token)


@router.delete(
    "/api_keys/{id}",
    response_model=ApiKeyOut,
    tags=["api keys"],
    summary="Revoke an API key (takes effect on the next request)",
)
def revoke_key(id: str, session: Session, actor: CurrentActor) -> ApiKeyOut:
    key = keys.revoke_key(session, actor, id)
    return ApiKeyOut.of(key, key.user)
