"""/api/v2 clients, contacts, projects, tasks and project assignments."""

from typing import Annotated, Any

from fastapi import Path, Query

from timeledger.server.catalog import schemas
from timeledger.server.catalog import service as catalog
from timeledger.server.core.fields import AwareDatetime
from timeledger.server.surfaces.http import SurfaceRouter
from timeledger.server.surfaces.native.resources import Operations, add_resource
from timeledger.server.surfaces.native.wire import (
    ClientOut,
    ContactOut,
    ProjectOut,
    TaskAssignmentOut,
    TaskOut,
    UserAssignmentOut,
)

router = SurfaceRouter()

IsActive = Annotated[bool | None, Query(description="Only active (true) or inactive (false)")]
UpdatedSince = Annotated[
    AwareDatetime | None, Query(description="Only rows updated at or after this ISO 8601 time")
]
ClientId = Annotated[str | None, Query(description="Only rows of this client")]


async def active_filters(
    is_active: IsActive = None, updated_since: UpdatedSince = None
) -> dict[str, Any]:
    return {"is_active": is_active, "updated_since": updated_since}


async def client_filters(
    client_id: ClientId = None, updated_since: UpdatedSince = None
) -> dict[str, Any]:
    return {"client_id": client_id, "updated_since": updated_since}


async def project_filters(
    is_active: IsActive = None, client_id: ClientId = None, updated_since: UpdatedSince = None
) -> dict[str, Any]:
    return {"is_active": is_active, "client_id": client_id, "updated_since": updated_since}


async def in_project(project_id: Annotated[str, Path()]) -> tuple[str, ...]:
    return (project_id,)


add_resource(
    router,
    path="/clients",
    key="clients",
    singular="client",
    out=ClientOut,
    render=ClientOut.of,
    create=schemas.ClientCreate,
    update=schemas.ClientUpdate,
    filters=active_filters,
    ops=Operations(
        catalog.list_clients,
        catalog.get_client,
        catalog.create_client,
        catalog.update_client,
        catalog.delete_client,
    ),
)
add_resource(
    router,
    path="/contacts",
    key="contacts",
    singular="contact",
    out=ContactOut,
    render=ContactOut.of,
    create=schemas.ContactCreate,
    update=schemas.ContactUpdate,
    filters=client_filters,
    ops=Operations(
        catalog.list_contacts,
        catalog.get_contact,
        catalog.create_contact,
        catalog.update_contact,
        catalog.delete_contact,
    ),
)
add_resource(
    router,
    path="/projects",
    key="projects",
    singular="project",
    out=ProjectOut,
    render=ProjectOut.of,
    create=schemas.ProjectCreate,
    update=schemas.ProjectUpdate,
    filters=project_filters,
    ops=Operations(
        catalog.list_projects,
        catalog.get_project,
        catalog.create_project,
        catalog.update_project,
        catalog.delete_project,
    ),
)
add_resource(
    router,
    path="/tasks",
    key="tasks",
    singular="task",
    out=TaskOut,
    render=TaskOut.of,
    create=schemas.TaskCreate,
    update=schemas.TaskUpdate,
    filters=active_filters,
    ops=Operations(
        catalog.list_tasks,
        catalog.get_task,
        catalog.create_task,
        catalog.update_task,
        catalog.delete_task,
    ),
)
add_resource(
    router,
    path="/projects/{project_id}/task_assignments",
    key="task_assignments",
    singular="task assignment",
    out=TaskAssignmentOut,
    render=TaskAssignmentOut.of,
    create=schemas.TaskAssignmentCreate,
    update=schemas.TaskAssignmentUpdate,
    filters=active_filters,
    parents=in_project,
    ops=Operations(
        catalog.list_task_assignments,
        catalog.get_task_assignment,
        catalog.create_task_assignment,
        catalog.update_task_assignment,
        catalog.delete_task_assignment,
    ),
)
add_resource(
    router,
    path="/projects/{project_id}/user_assignments",
    key="user_assignments",
    singular="user assignment",
    out=UserAssignmentOut,
    render=UserAssignmentOut.of,
    create=schemas.UserAssignmentCreate,
    update=schemas.UserAssignmentUpdate,
    filters=active_filters,
    parents=in_project,
    ops=Operations(
        catalog.list_user_assignments,
        catalog.get_user_assignment,
        catalog.create_user_assignment,
        catalog.update_user_assignment,
        catalog.delete_user_assignment,
    ),
)
