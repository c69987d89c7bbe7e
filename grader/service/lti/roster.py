"""Names and Role Provisioning Services 2.0: the course's roster, as the platform keeps it.

Where a platform offers the service (its launches carry a `namesroleservice` claim), the
instructor's class page can list who has not submitted, including students who never opened
the activity. Ids are the grader's own (`lti:<platform>:<user_id>`), as a launch makes them.
"""
from __future__ import annotations

from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector

from . import Lti, PlatformSession, store
from .roles import role_of
from .tool import ToolConf


def roster(lti: Lti, course: str) -> list[dict] | None:
    """The course's active members, [{"id", "name", "role"}], or None without the service."""
    context = store.row(lti.engine, store.contexts, course=course)
    if context is None or not context["memberships_url"]:
        return None
    platform = store.platform_by_id(lti.engine, context["platform_id"])
    registration = ToolConf(lti.engine, lti.key).registration(platform)
    service = NamesRolesProvisioningService(
        ServiceConnector(registration, PlatformSession()),
        {"context_memberships_url": context["memberships_url"], "service_versions": ["2.0"]})
    people = []
    for m in service.get_members():   # every page, following the Link headers
        if m.get("status", "Active") != "Active":
            continue
        name = m.get("name") or " ".join(
            p for p in (m.get("given_name"), m.get("family_name")) if p)
        people.append({"id": f"lti:{platform.id}:{m['user_id']}",
                       "name": name or m.get("email") or m["user_id"],
                       "role": role_of(m.get("roles"))})
    return people


def students(lti: Lti, course: str) -> list[dict] | None:
    people = roster(lti, course)
    return None if people is None else [p for p in people if p["role"] == "student"]
