"""The document resources (State, Activity Profile, Agent Profile): ETag concurrency, JSON merge
on POST, lists of ids with `since`. Documents of one institution are invisible to another.

Within an institution, who reaches which document:

- an "own"-scope LRS client (which reads only the statements it wrote) has a space of its own:
  it reads, lists, changes and deletes only the documents it wrote, and nobody else sees them
  (Document.client). A key another writer used is a different document in its space, so no
  answer tells whether others stored one;
- everybody else shares the institution's space: its institution-scope clients, and its
  learners (a session or a launch credential), who reach the State and Agent Profile documents
  of their own agent only (and of the launch's registration), and read Activity Profiles but do
  not write or delete them (403: an activity's profile is the activity's, not one learner's).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import http_date
from django.utils.translation import gettext as _

from lms.xapi.errors import XAPIError, bad
from lms.xapi.models import Document, agent_key
from lms.xapi.store import Caller
from lms.xapi.validation import StatementError, check_agent, check_iri, parse_time

if TYPE_CHECKING:
    from lms.xapi.views import XRequest

# The longest stateId / profileId stored (the column holds 1,024 characters).
MAX_DOCUMENT_ID = 1024


def _agent(xrequest: XRequest, caller: Caller, *, required: bool = True) -> str:
    text = xrequest.params.get("agent")
    if text is None:
        if required:
            raise bad("agent", _("is required"))
        return ""
    try:
        agent = json.loads(text)
        check_agent(agent, "agent")
    except ValueError as exc:
        if isinstance(exc, StatementError):
            raise bad(exc.field, exc.rule) from exc
        raise bad("agent", _("is not valid JSON")) from exc
    key = agent_key(agent)
    if caller.scope == "learner" and key != caller.actor_key:
        raise XAPIError(403, "agent", _("this credential may only use its own learner's documents"))
    return key


def _activity(xrequest: XRequest) -> str:
    activity_id = xrequest.params.get("activityId")
    if not activity_id:
        raise bad("activityId", _("is required"))
    check_iri(activity_id, "activityId")
    return activity_id


def _registration(xrequest: XRequest, caller: Caller) -> uuid.UUID | None:
    text = xrequest.params.get("registration")
    if text is None:
        return None
    try:
        registration = uuid.UUID(text)
    except ValueError as exc:
        raise bad("registration", _("must be a UUID")) from exc
    if caller.registration is not None and registration != caller.registration:
        raise XAPIError(403, "registration", _("must be the launch registration"))
    return registration


def _etag(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()  # noqa: S324 - an ETag, not a security hash


def _allowed(xrequest: XRequest, allowed: set[str]) -> None:
    extra = set(xrequest.params) - allowed
    if extra:
        raise bad(sorted(extra)[0], _("is not a parameter of this resource"))


def _check_preconditions(
    xrequest: XRequest, document: Document | None, *, require_header: bool
) -> None:
    if_match = xrequest.header("If-Match")
    if_none_match = xrequest.header("If-None-Match")
    if if_match is not None:
        tags = {tag.strip().strip('"') for tag in if_match.split(",")}
        if document is None or ("*" not in tags and document.etag not in tags):
            raise XAPIError(412, "If-Match", _("the document has changed or does not exist"))
    if if_none_match is not None and document is not None:
        tags = {tag.strip().strip('"') for tag in if_none_match.split(",")}
        if "*" in tags or document.etag in tags:
            raise XAPIError(412, "If-None-Match", _("the document already exists"))
    if require_header and if_match is None and if_none_match is None:
        if document is not None:
            raise XAPIError(409, "If-Match", _("a document exists: send If-Match or If-None-Match"))
        raise bad("If-None-Match", _("a PUT of a profile needs If-Match or If-None-Match"))


def _document_response(document: Document) -> HttpResponse:
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["ETag"] = f'"{document.etag}"'
    response["Last-Modified"] = http_date(document.updated.timestamp())
    return response


def _handle(
    xrequest: XRequest,
    caller: Caller,
    *,
    kind: str,
    id_param: str,
    keys: dict[str, Any],
    require_header: bool,
) -> HttpResponse:
    # an "own"-scope client's space is its own; everybody else's, the institution's (the
    # module docstring)
    space = caller.client_id if caller.client_id is not None and caller.scope == "own" else None
    base: QuerySet[Document] = Document.objects.filter(
        kind=kind, institution=caller.institution_id, client_id=space, **keys
    )
    document_id = xrequest.params.get(id_param)
    if document_id is not None and len(document_id) > MAX_DOCUMENT_ID:
        raise bad(
            id_param,
            _("must be at most %(longest)s characters long") % {"longest": MAX_DOCUMENT_ID},
        )
    method = xrequest.method
    if (
        kind == Document.Kind.ACTIVITY_PROFILE
        and caller.scope == "learner"
        and method not in {"GET", "HEAD"}
    ):
        raise XAPIError(403, "method", _("this credential may only read activity profiles"))
    if method in {"GET", "HEAD"}:
        if document_id is None:
            queryset = base
            if "since" in xrequest.params:
                since = parse_time(xrequest.params["since"])
                if since is None:
                    raise bad(
                        "since", _("must be an ISO 8601 timestamp between the years 1 and 9999")
                    )
                queryset = queryset.filter(updated__gt=since)
            ids = list(
                queryset.order_by("document_id").values_list("document_id", flat=True)[:1000]
            )
            return JsonResponse(ids, safe=False)
        document = base.filter(document_id=document_id).first()
        if document is None:
            return JsonResponse(
                {"error": {"field": id_param, "rule": _("no such document")}}, status=404
            )
        return _document_response(document)
    if method == "DELETE":
        if document_id is None:
            if kind != Document.Kind.STATE:
                raise bad(id_param, _("is required"))
            base.delete()
            return HttpResponse(status=204)
        document = base.filter(document_id=document_id).first()
        _check_preconditions(xrequest, document, require_header=False)
        if document is not None:
            document.delete()
        return HttpResponse(status=204)
    if method not in {"PUT", "POST"}:
        raise XAPIError(405, "method", _("documents take GET, PUT, POST and DELETE"))
    if not document_id:
        raise bad(id_param, _("is required"))
    content_type = (xrequest.header("Content-Type") or xrequest.content_type or "").strip()
    if not content_type:
        content_type = "application/octet-stream"
    is_json = content_type.split(";")[0].strip() == "application/json"
    content = xrequest.body
    incoming: Any = None
    if is_json:
        try:
            incoming = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise bad("body", _("is not valid JSON")) from exc
    # A document created by another request between the lookup and the INSERT (no row to
    # lock yet) is decided again against it: its preconditions, POST's merge.
    for attempt in range(2):
        try:
            with transaction.atomic():
                document = base.select_for_update().filter(document_id=document_id).first()
                _check_preconditions(
                    xrequest, document, require_header=require_header and method == "PUT"
                )
                if method == "POST" and document is not None:
                    if not (is_json and document.is_json and isinstance(incoming, dict)):
                        raise bad(
                            "body", _("POST merges JSON objects only: both documents must be JSON")
                        )
                    current = json.loads(bytes(document.content))
                    if not isinstance(current, dict):
                        raise bad("body", _("the stored document is not a JSON object"))
                    current.update(incoming)
                    content = json.dumps(current).encode()
                    content_type = "application/json"
                elif method == "POST" and is_json and not isinstance(incoming, dict):
                    raise bad("body", _("POST takes a JSON object"))
                if document is None:
                    document = Document(
                        kind=kind,
                        institution_id=caller.institution_id,
                        client_id=space,
                        document_id=document_id,
                        **keys,
                    )
                document.content = content
                document.content_type = content_type
                document.etag = _etag(content)
                document.updated = timezone.now()
                document.save()
            break
        except IntegrityError:
            if attempt:
                raise
    return HttpResponse(status=204)


def state_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The State resource: activityId, agent, registration, stateId."""
    _allowed(xrequest, {"activityId", "agent", "registration", "stateId", "since"})
    keys = {
        "activity_id": _activity(xrequest),
        "agent_key": _agent(xrequest, caller),
        "registration": _registration(xrequest, caller),
    }
    return _handle(
        xrequest,
        caller,
        kind=Document.Kind.STATE,
        id_param="stateId",
        keys=keys,
        require_header=False,
    )


def activity_profile_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The Activity Profile resource: activityId, profileId."""
    _allowed(xrequest, {"activityId", "profileId", "since"})
    keys = {"activity_id": _activity(xrequest), "agent_key": "", "registration": None}
    return _handle(
        xrequest,
        caller,
        kind=Document.Kind.ACTIVITY_PROFILE,
        id_param="profileId",
        keys=keys,
        require_header=True,
    )


def agent_profile_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The Agent Profile resource: agent, profileId."""
    _allowed(xrequest, {"agent", "profileId", "since"})
    keys = {"activity_id": "", "agent_key": _agent(xrequest, caller), "registration": None}
    return _handle(
        xrequest,
        caller,
        kind=Document.Kind.AGENT_PROFILE,
        id_param="profileId",
        keys=keys,
        require_header=True,
    )
