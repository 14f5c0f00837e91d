"""The xAPI 1.0.3 resources: Statements, State, Activity Profile, Agent Profile, Activities,
Agents and About. Thin HTTP handling; storage rules live in store.py and documents.py.

What a caller reaches is one rule, `_visible`: an institution-scope client its institution's
statements (and its units'), an "own" client those it wrote, a learner (session or launch
credential) their own (in the launch's registration). Writes keep to it too:

- voiding (`_check_voiding`): only an LRS client voids, and only a target it may read, in the
  transaction that stores it. A learner's credential (session or launched content) voids
  nothing, refused 403 whatever the target (cmi5 6.3: content is given no credential that
  voids; the platform's records of a learner are not theirs to erase). An LRS client's
  voiding statement of a target it cannot read is stored and voids nothing, as one of an
  absent target is (xAPI: the LRS SHOULD NOT reject it; ADL XAPI-00019): neither answer
  tells whether the target exists. Voiding statements are never buffered (lms.xapi.buffer),
  so the drain never voids.
- an id already stored: 409 naming the difference when the caller may read the stored
  statement (xAPI), the same 409 whatever the stored statement when it may not. That the id is
  taken cannot be hidden (ids are unique across the LRS); what is stored under it is.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Cast, StrIndex
from django.db.models.lookups import GreaterThan
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils import timezone
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from redis.exceptions import RedisError

from lms.accounts.models import Institution
from lms.xapi import buffer, documents, store
from lms.xapi.auth import authenticate, reauthenticate
from lms.xapi.errors import XAPIError, bad
from lms.xapi.models import Attachment, Statement, agent_key
from lms.xapi.signals import statements_stored
from lms.xapi.store import XAPI_VERSION, Caller
from lms.xapi.validation import (
    StatementError,
    check_agent,
    check_iri,
    check_statement,
    parse_time,
)
from lms.xapi.verbs import VOIDED_IRI

log = logging.getLogger(__name__)

VERSION_RE = re.compile(r"^1\.0(\.\d+)?$")
SIGNATURE_USAGE = "http://adlnet.gov/expapi/attachments/signature"
MAX_LIMIT = 500
QUERY_PARAMS = {
    "agent",
    "verb",
    "activity",
    "registration",
    "related_activities",
    "related_agents",
    "since",
    "until",
    "limit",
    "format",
    "attachments",
    "ascending",
    "cursor",
}


def error_response(status: int, field: str, rule: str) -> HttpResponse:
    message = _("%(field)s: %(rule)s") % {"field": field, "rule": rule}
    response = JsonResponse(
        {"error": {"field": field, "rule": rule}, "message": message}, status=status
    )
    if status == 503:
        response["Retry-After"] = "5"
    return response


class XRequest:
    """A request with the alternate request syntax already unwrapped."""

    def __init__(self, request: HttpRequest) -> None:
        self.django = request
        self.method = request.method or "GET"
        self.params: dict[str, str] = {k: str(v) for k, v in request.GET.items()}
        # The request's own headers, read as needed; a copy only for the alternate syntax.
        self.headers: dict[str, str] | None = None
        self.body = request.body
        self.content_type = request.content_type or ""
        if self.method == "POST" and "method" in request.GET:
            self._unwrap_alternate(request)

    def _unwrap_alternate(self, request: HttpRequest) -> None:
        if set(request.GET) != {"method"}:
            raise bad("method", _("the alternate request syntax allows no other query parameter"))
        method = request.GET["method"].upper()
        if method not in {"GET", "PUT", "POST", "DELETE"}:
            raise bad("method", _("must be GET, PUT, POST or DELETE"))
        if not self.content_type.startswith("application/x-www-form-urlencoded"):
            raise bad("Content-Type", _("the alternate request syntax needs a form body"))
        form = QueryDict(request.body, encoding="utf-8")
        self.method = method
        self.headers = {k.lower(): v for k, v in request.headers.items()}
        self.headers.pop("content-type", None)
        self.headers.pop("content-length", None)
        self.params = {}
        header_names = {
            "authorization",
            "x-experience-api-version",
            "content-type",
            "if-match",
            "if-none-match",
            "content-length",
        }
        content = ""
        for key, raw in form.items():
            value = str(raw)
            if key.lower() in header_names:
                self.headers[key.lower()] = value
            elif key == "content":
                content = value
            else:
                self.params[key] = value
        self.body = content.encode()
        self.content_type = self.headers.get("content-type", "application/json").split(";")[0]

    def header(self, name: str) -> str | None:
        if self.headers is None:
            return self.django.headers.get(name)
        return self.headers.get(name.lower())


# How long a write may take from the moment it stamps its statements' `stored` to its commit
# (or its push to the buffer) without being seen in flight: a buffered accept between its stamp
# and its push, any write while Redis fails. Synchronous writes in flight and statements waiting
# in the buffer are known (buffer.floor).
WRITE_MARGIN = timedelta(seconds=2)


def consistent_through(before: datetime | None = None, floor: datetime | None = None) -> str:
    """The `stored` time up to which every statement is visible to a query made at `before`
    (now when not given): WRITE_MARGIN earlier, and before `floor`, the earliest `stored` of a
    statement still on its way when the query was made (buffer.floor, read before it). A
    poller asking `since` the last Consistent-Through misses nothing."""
    through = (before or timezone.now()) - WRITE_MARGIN
    if floor is not None and floor <= through:
        through = floor - timedelta(milliseconds=1)
    return through.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# The headers of the LRS's answers that a script of another origin may read (CORS).
EXPOSED = "ETag, Last-Modified, X-Experience-API-Version, X-Experience-API-Consistent-Through"


def _finish(response: HttpResponse) -> HttpResponse:
    response["X-Experience-API-Version"] = XAPI_VERSION
    response["Date"] = http_date()
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = EXPOSED
    return response


def unauthorized() -> HttpResponse:
    response = error_response(401, "Authorization", _("valid credentials are required"))
    response["WWW-Authenticate"] = 'Basic realm="xAPI"'
    return response


def xapi_view(
    handler: Callable[[XRequest, Caller], HttpResponse],
    *,
    needs_auth: bool = True,
    confirms_launch: bool = False,
) -> Callable[[HttpRequest], HttpResponse]:
    """Wrap a resource: CORS, the alternate syntax, the version header, authentication, errors.

    `confirms_launch`: the handler's POST and PUT confirm a launch credential in their write
    (Caller.confirm), so that one may come from the in-process cache."""

    @csrf_exempt
    def view(request: HttpRequest) -> HttpResponse:
        if request.method == "OPTIONS":
            response = HttpResponse(status=200)
            response["Access-Control-Allow-Methods"] = "GET, PUT, POST, DELETE, HEAD, OPTIONS"
            response["Access-Control-Allow-Headers"] = (
                "Authorization, Content-Type, X-Experience-API-Version, If-Match, If-None-Match"
            )
            return _finish(response)
        try:
            xrequest = XRequest(request)
            version = xrequest.header("X-Experience-API-Version")
            if needs_auth:
                if not version:
                    raise bad("X-Experience-API-Version", _("header is required"))
                if not VERSION_RE.match(version):
                    raise bad("X-Experience-API-Version", _("must be 1.0.x"))
            caller = authenticate(
                request,
                xrequest.header("Authorization"),
                write=confirms_launch and xrequest.method in {"POST", "PUT"},
            )
            if caller is None and needs_auth:
                return _finish(unauthorized())
            response = handler(xrequest, caller or Caller(institution_id=None))
        except XAPIError as exc:
            response = error_response(exc.status, exc.field, exc.rule)
        except StatementError as exc:
            response = error_response(400, exc.field, exc.rule)
        if request.method == "HEAD":
            response.content = b""
        return _finish(response)

    return view


# Statements --------------------------------------------------------------------------------


def _json(body: bytes, field: str) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(field, _("is not valid JSON")) from exc


def _parts(xrequest: XRequest) -> tuple[Any, dict[str, tuple[str, bytes]]]:
    """The statements and the attachment parts (sha2 -> (content type, bytes)) of a request."""
    if not xrequest.content_type.startswith("multipart/mixed"):
        if not xrequest.content_type.startswith("application/json"):
            raise bad("Content-Type", _("must be application/json or multipart/mixed"))
        return _json(xrequest.body, "body"), {}
    raw_type = xrequest.header("Content-Type") or xrequest.content_type
    message = message_from_bytes(
        b"Content-Type: " + raw_type.encode() + b"\r\n\r\n" + xrequest.body
    )
    if not message.is_multipart():
        raise bad("Content-Type", _("multipart/mixed needs a boundary and parts"))
    parts: list[Message] = list(message.get_payload())  # type: ignore[arg-type]
    if not parts or parts[0].get_content_type() != "application/json":
        raise bad("multipart", _("the first part must be the statements as application/json"))
    first = parts[0].get_payload(decode=True)
    statements = _json(first if isinstance(first, bytes) else b"", "multipart[0]")
    attachments: dict[str, tuple[str, bytes]] = {}
    for index, part in enumerate(parts[1:], start=1):
        sha2 = part.get("X-Experience-API-Hash")
        if not sha2:
            raise bad(f"multipart[{index}]", _("needs an X-Experience-API-Hash header"))
        if (part.get("Content-Transfer-Encoding") or "binary").lower() != "binary":
            raise bad(f"multipart[{index}]", _("Content-Transfer-Encoding must be binary"))
        content = part.get_payload(decode=True)
        content = content if isinstance(content, bytes) else b""
        if not _hash_matches(sha2, content):
            # the content is stored once by hash and shared (Attachment): what another
            # institution's statements name by that hash must be that content
            raise bad(
                f"multipart[{index}]", _("the content does not match its X-Experience-API-Hash")
            )
        attachments[sha2] = (part.get_content_type(), content)
    return statements, attachments


# The SHA-2 functions by the length of their hex digest.
SHA2_BY_LENGTH = {
    56: ("sha224", "sha512_224"),
    64: ("sha256", "sha512_256"),
    96: ("sha384",),
    128: ("sha512",),
}


def _hash_matches(sha2: str, content: bytes) -> bool:
    """Whether `sha2` (hex) is a SHA-2 digest of `content`."""
    for name in SHA2_BY_LENGTH.get(len(sha2), ()):
        try:
            digest = hashlib.new(name, content).hexdigest()
        except ValueError:  # not in this OpenSSL
            continue
        if digest == sha2.lower():
            return True
    return False


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _check_signature(statement: dict[str, Any], jws: bytes, field: str) -> None:
    """A signature attachment is a JWS (RS256/384/512) whose payload is this statement."""
    try:
        header_b64, payload_b64, signature_b64 = jws.decode().strip().split(".")
        header = json.loads(_b64url(header_b64))
        payload = json.loads(_b64url(payload_b64))
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(field, _("a signature must be a JWS in compact serialisation")) from exc
    if header.get("alg") not in {"RS256", "RS384", "RS512"}:
        raise bad(field, _("the JWS algorithm must be RS256, RS384 or RS512"))
    for key in ("actor", "verb", "object", "result", "context"):
        if store.comparable(payload.get(key)) != store.comparable(statement.get(key)):
            raise bad(
                field,
                _("the signed payload differs from the statement in '%(key)s'") % {"key": key},
            )
    if header.get("x5c"):
        _verify_jws(header, f"{header_b64}.{payload_b64}".encode(), _b64url(signature_b64), field)


def _verify_jws(header: dict[str, Any], signed: bytes, signature: bytes, field: str) -> None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        certificate = x509.load_der_x509_certificate(base64.b64decode(header["x5c"][0]))
        key = certificate.public_key()
        digest = {"RS256": hashes.SHA256(), "RS384": hashes.SHA384(), "RS512": hashes.SHA512()}
        if not isinstance(key, rsa.RSAPublicKey):
            raise bad(field, _("the x5c certificate must hold an RSA key"))
        key.verify(signature, signed, padding.PKCS1v15(), digest[header["alg"]])
    except (InvalidSignature, ValueError, KeyError, IndexError) as exc:
        raise bad(field, _("the JWS signature does not verify with its x5c certificate")) from exc


def _enforce_learner(statement: dict[str, Any], caller: Caller, field: str) -> None:
    """A launch credential or a session writes only as its learner, in its registration."""
    if caller.scope != "learner":
        return
    if agent_key(statement["actor"]) != caller.actor_key:
        raise XAPIError(403, f"{field}actor", _("this credential may only write its own learner"))
    if caller.registration is not None:
        context = statement.setdefault("context", {})
        registration = context.get("registration")
        if registration is None:
            context["registration"] = str(caller.registration)
        elif uuid.UUID(registration) != caller.registration:
            raise XAPIError(
                403, f"{field}context.registration", _("must be the launch registration")
            )


def _check_batch(
    statements: list[dict[str, Any]],
    attachments: dict[str, tuple[str, bytes]],
    caller: Caller,
    *,
    put_id: str | None = None,
) -> None:
    """Validate a batch (XAPIError or StatementError naming the first fault); each statement is
    then the caller's to write, with the PUT's id and the launch's registration filled in."""
    seen: set[str] = set()
    for index, statement in enumerate(statements):
        prefix = f"[{index}]." if len(statements) > 1 else ""
        try:
            check_statement(statement)
        except StatementError as exc:
            raise bad(prefix + exc.field, exc.rule) from exc
        if put_id is not None:
            if "id" in statement and statement["id"].lower() != put_id.lower():
                raise bad("id", _("must equal the statementId parameter"))
            statement["id"] = put_id.lower()
        if "id" in statement:
            if statement["id"].lower() in seen:
                raise bad(prefix + "id", _("appears twice in the batch"))
            seen.add(statement["id"].lower())
        _enforce_learner(statement, caller, prefix)
        for position, declared in enumerate(statement.get("attachments") or []):
            name = f"{prefix}attachments[{position}]"
            if declared.get("fileUrl") and declared["sha2"] not in attachments:
                continue
            if declared["sha2"] not in attachments:
                raise bad(name + ".sha2", _("no multipart part carries this hash"))
            if declared["usageType"] == SIGNATURE_USAGE:
                if declared["contentType"] != "application/octet-stream":
                    raise bad(name + ".contentType", _("a signature is application/octet-stream"))
                _check_signature(statement, attachments[declared["sha2"]][1], name)
    declared_hashes = {
        declared["sha2"]
        for statement in statements
        for declared in statement.get("attachments") or []
    }
    for sha2 in attachments:
        if sha2 not in declared_hashes:
            raise bad(
                "multipart",
                _("the part %(sha2)s is not declared by any statement") % {"sha2": sha2},
            )


def _give_ids(statements: list[dict[str, Any]]) -> list[str]:
    """Each statement's id, lower case, a new one where it has none."""
    ids = [str(statement.get("id") or uuid.uuid4()).lower() for statement in statements]
    for statement, statement_id in zip(statements, ids, strict=True):
        statement["id"] = statement_id
    return ids


def _voiding_targets(statements: list[dict[str, Any]]) -> set[str]:
    return {
        str(s["object"]["id"]).lower()
        for s in statements
        if s["verb"]["id"] == VOIDED_IRI and s["object"].get("objectType") == "StatementRef"
    }


def _bufferable(
    statements: list[dict[str, Any]],
    attachments: dict[str, tuple[str, bytes]],
    caller: Caller,
    targets: set[str],
) -> bool:
    """Whether a checked batch may go through the buffer (lms.xapi.buffer): launched content's
    (a cached credential, confirmed by the drain), nothing attached, nothing voided."""
    return (
        buffer.enabled()
        and caller.confirm is not None
        and not attachments
        and not targets
        and not any(statement.get("attachments") for statement in statements)
    )


def buffer_launched(statements: list[dict[str, Any]], caller: Caller) -> list[str] | None:
    """A POST's batch accepted into the buffer: its ids in order. None, with nothing written,
    when the batch is refused or needs the synchronous write (an id claimed for another
    statement, Redis failing, a credential to read again): the full request handling
    (`statements_handler`) then answers it, and decides as it always does (lms.xapi.ingest)."""
    try:
        _check_batch(statements, {}, caller)
        ids = _give_ids(statements)
        if not _bufferable(statements, {}, caller, _voiding_targets(statements)):
            return None
        return _buffer_statements(statements, ids, caller, timezone.now())
    except (XAPIError, StatementError, store.CredentialRejected, buffer.Fallback, RedisError):
        return None


def _store_statements(
    statements: list[dict[str, Any]],
    attachments: dict[str, tuple[str, bytes]],
    caller: Caller,
    *,
    put_id: str | None = None,
) -> list[str]:
    """Validate and store a batch, all or nothing; returns the ids in order."""
    _check_batch(statements, attachments, caller, put_id=put_id)
    now = timezone.now()
    ids = _give_ids(statements)
    targets = _voiding_targets(statements)
    buffered = buffer.enabled()
    if _bufferable(statements, attachments, caller, targets):
        try:
            return _buffer_statements(statements, ids, caller, now)
        except buffer.Fallback:
            pass
        except RedisError:  # Redis down or full: the synchronous write does without it
            log.warning("xAPI buffer: Redis failed, statements written at once", exc_info=True)
    # The synchronous write: registered as in flight before its statements are stamped (a
    # reader's Consistent-Through stays before it until it ends), and when buffering its ids
    # claimed before anything is written (launched content sending them is decided here).
    write = buffer.begin_write(ids, claim=buffered)
    # Whether statements of this write may have been stored: until then a failure gives back
    # the claims it made (launched content sending those ids is buffered again, not decided
    # here for CLAIM_SECONDS).
    stored_any = False
    try:
        # order, voiding targets and conflicts see the buffered statements; one with an id of
        # this write that could not be written yet would be dropped by the drain after this
        # write's 200: the writer retries instead
        if buffered and not buffer.drain_for_write() and write.contested:
            raise XAPIError(503, "id", _("statements with these ids are being written: retry"))
        if targets:
            # after the drain: a target launched content sent a moment ago is in the database
            _check_voiding(statements, targets, caller)
        now = timezone.now()
        rows = [store.prepare(statement, caller, now) for statement in statements]
        # One statement with nothing else to write is one INSERT, atomic by itself: no transaction
        # (BEGIN and COMMIT would be two more round trips). Anything more is all or nothing.
        alone = len(rows) == 1 and not attachments and rows[0].voids is None
        try:
            with nullcontext() if alone else transaction.atomic():
                written = store.write(rows, confirm=caller.confirm)
                stored_any = alone and bool(written.inserted)  # one INSERT commits by itself
                if not written.confirmed:
                    raise store.CredentialRejected
                conflicts = [row for row in rows if row.statement_id not in written.inserted]
                if conflicts:
                    conflict_ids = [row.statement_id for row in conflicts]
                    existing = store.stored_data(conflict_ids)
                    readable = _readable(caller, conflict_ids, existing)
                    for row, statement in zip(rows, statements, strict=True):
                        if row.statement_id in written.inserted:
                            continue
                        found = existing.get(statement["id"])
                        if found is None:
                            raise XAPIError(
                                409, "id", _("a statement with this id was stored at the same time")
                            )
                        if statement["id"] not in readable:
                            # out of the caller's reach: one answer whatever the statement
                            # stored (the id is taken; whether it matches is not said)
                            raise XAPIError(
                                409, "id", _("a statement with this id is already stored")
                            )
                        if not store.same_statement(found, statement):
                            raise XAPIError(
                                409, "id", _("a different statement with this id is already stored")
                            )
                new = [row for row in rows if row.statement_id in written.inserted]
                voided = [row.voids for row in new if row.voids is not None]
                if voided:
                    # only what the caller may read, whatever _check_voiding let through
                    _visible(caller).filter(statement_id__in=voided).update(voided=True)
                for sha2, (content_type, content) in attachments.items():
                    Attachment.objects.get_or_create(
                        sha2=sha2, defaults={"content_type": content_type, "content": content}
                    )
                store.forward_written(written)
                stored = [row.data for row in new]
                if stored:
                    transaction.on_commit(
                        lambda: statements_stored.send(sender=Statement, statements=stored)
                    )
                # committed as the block ends (a commit that fails keeps the claims: they
                # expire, as before)
                stored_any = True
        except IntegrityError as exc:
            raise XAPIError(
                409, "id", _("a statement with this id was stored at the same time")
            ) from exc
    finally:
        if stored_any:
            buffer.end_write(write)
        else:
            buffer.end_write(write, failed=True)
    return ids


def _check_voiding(statements: list[dict[str, Any]], targets: set[str], caller: Caller) -> None:
    """The targets of a batch's voiding statements (`targets`, lower-case ids) against what the
    caller may read (_visible, the rule of GET), in one query; a target sent in the same batch
    is the caller's own. A target out of the caller's reach is treated as an absent one, so
    that no answer tells whether it exists:

    - a learner (session or launch credential) voids nothing: refused 403 with one message,
      whatever the target, before anything is read. The platform's statements about a learner
      (completions, grades, attendance) carry the same actor and authority as what their
      content sends, and a record of training is not its learner's to erase; cmi5 (6.3) gives
      launched content no credential that voids. An LRS client of the institution voids;
    - an LRS client's voiding statement of a target it cannot read is stored and voids
      nothing (the voiding UPDATE is limited to _visible), as one of an absent target is:
      xAPI 1.0.3 Data 2.3.2, the LRS SHOULD NOT reject a voiding statement whose target is
      not present (the ADL suite's XAPI-00019 sends one and expects 200).

    A target the caller may read that is itself a voiding statement is refused (400)."""
    if caller.scope == "learner" and targets:
        raise XAPIError(403, "verb.id", _("this credential may not void statements"))
    batch = {str(statement["id"]): statement for statement in statements}
    readable = {
        str(statement_id): verb
        for statement_id, verb in _visible(caller)
        .filter(statement_id__in=[uuid.UUID(target) for target in targets])
        .values_list("statement_id", "verb_id")
    }
    for target in sorted(targets):
        verb = readable.get(target)
        if verb is None and target in batch:
            verb = batch[target]["verb"]["id"]
        if verb is None:
            continue
        if verb == VOIDED_IRI:
            raise bad("object.id", _("a voiding statement cannot be voided"))


def _readable(
    caller: Caller, statement_ids: list[uuid.UUID], existing: dict[str, dict[str, Any]]
) -> set[str]:
    """Those of `statement_ids` (stored: `existing`, by str id) the caller may read. A
    learner's rule (_visible: their actor, in the launch's registration) is read from the
    statements already at hand, sparing launched content's retries a query; a client's is
    one query."""
    if caller.scope == "learner":
        readable: set[str] = set()
        for statement_id, data in existing.items():
            registration = (data.get("context") or {}).get("registration")
            if agent_key(data["actor"])[:512] == caller.actor_key and (
                caller.registration is None
                or (registration is not None and uuid.UUID(registration) == caller.registration)
            ):
                readable.add(statement_id)
        return readable
    return {
        str(statement_id)
        for statement_id in _visible(caller)
        .filter(statement_id__in=statement_ids)
        .values_list("statement_id", flat=True)
    }


def _buffer_statements(
    statements: list[dict[str, Any]], ids: list[str], caller: Caller, now: datetime
) -> list[str]:
    """The buffered write of launched statements (lms.xapi.buffer): claimed and queued in one
    Redis round trip, without reading the database; the drain confirms the credential and
    inserts them. Fallback: the synchronous path decides (an id claimed for another statement);
    CredentialRejected: a drain found the credential withdrawn (the database decides: 401)."""
    assert caller.confirm is not None
    rows = [store.prepare(statement, caller, now) for statement in statements]
    hashes = [buffer.fingerprint(statement) for statement in statements]
    try:
        buffer.accept(ids, hashes, rows, caller.confirm)
    except buffer.Refused as exc:
        raise store.CredentialRejected from exc
    return ids


def _visible(caller: Caller) -> QuerySet[Statement]:
    """The statements the caller may read: never another institution's."""
    queryset = Statement.objects.all()
    if caller.scope == "learner":
        queryset = queryset.filter(actor_key=caller.actor_key)
        if caller.registration is not None:
            queryset = queryset.filter(registration=caller.registration)
        return queryset
    if caller.client_id is None:
        return queryset.none()
    if caller.scope == "institution":
        if not caller.institution_path:
            return queryset.none()
        # One round trip: the institution's subtree is a subquery of the statements query.
        subtree = Institution.objects.filter(path__startswith=caller.institution_path)
        return queryset.filter(institution_id__in=subtree.values("pk"))
    return queryset.filter(client_id=caller.client_id)


def _parse_agent(text: str, field: str) -> dict[str, Any]:
    agent = _json(text.encode(), field)
    try:
        check_agent(agent, field)
    except StatementError as exc:
        raise bad(exc.field, exc.rule) from exc
    return agent  # type: ignore[no-any-return]


def _parse_time(text: str, field: str) -> datetime:
    value = parse_time(text)
    if value is None:
        raise bad(field, _("must be an ISO 8601 timestamp between the years 1 and 9999"))
    return value  # type: ignore[no-any-return]


def _language_pick(value: dict[str, str], languages: list[str]) -> dict[str, str]:
    """The one entry of a language map for the reader: an exact tag first ("en-GB" when the
    reader asks en-GB, even if "en" comes earlier in the map), then the same primary language,
    then the first entry."""
    for language in languages:
        for tag in value:
            if tag.lower() == language:
                return {tag: value[tag]}
    for language in languages:
        for tag in value:
            if tag.lower().split("-")[0] == language.split("-")[0]:
                return {tag: value[tag]}
    first = next(iter(value), None)
    return {first: value[first]} if first else {}


def _format(data: dict[str, Any], fmt: str, languages: list[str]) -> dict[str, Any]:
    if fmt == "exact":
        return data
    if fmt == "canonical":

        def canonical(value: Any, key: str = "") -> Any:
            if key == "extensions":
                return value  # the extension's own data, whatever its keys
            if isinstance(value, dict):
                if key in {"display", "name", "description"} and all(
                    isinstance(v, str) for v in value.values()
                ):
                    return _language_pick(value, languages)
                return {k: canonical(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [canonical(item, key if key in {"choices"} else "") for item in value]
            return value

        return canonical(data)  # type: ignore[no-any-return]

    def ids_of_agent(agent: dict[str, Any]) -> dict[str, Any]:
        result = {
            k: v
            for k, v in agent.items()
            if k in {"objectType", "mbox", "mbox_sha1sum", "openid", "account"}
        }
        if agent.get("member"):
            result["member"] = [ids_of_agent(m) for m in agent["member"]]
        return result

    def ids(statement: dict[str, Any]) -> dict[str, Any]:
        out = dict(statement)
        out["actor"] = ids_of_agent(statement["actor"])
        out["verb"] = {"id": statement["verb"]["id"]}
        obj = statement["object"]
        if obj.get("objectType", "Activity") == "Activity":
            out["object"] = {"id": obj["id"]}
        elif obj.get("objectType") in {"Agent", "Group"}:
            out["object"] = ids_of_agent(obj)
        elif obj.get("objectType") == "SubStatement":
            out["object"] = {**ids(obj), "objectType": "SubStatement"}
        if "authority" in statement:
            out["authority"] = ids_of_agent(statement["authority"])
        if isinstance(statement.get("context"), dict):
            context = out["context"] = dict(statement["context"])
            for role in ("instructor", "team"):
                if isinstance(context.get(role), dict):
                    context[role] = ids_of_agent(context[role])
            if isinstance(context.get("contextActivities"), dict):
                context["contextActivities"] = {
                    kind: [
                        {"id": activity["id"]}
                        for activity in (
                            activities if isinstance(activities, list) else [activities]
                        )
                    ]
                    for kind, activities in context["contextActivities"].items()
                }
        return out

    return ids(data)


def _languages(xrequest: XRequest) -> list[str]:
    """The reader's languages, most preferred first (by quality, then header order; q=0 is
    "not this one")."""
    header = xrequest.header("Accept-Language") or ""
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, *options = part.split(";")
        if not tag.strip():
            continue
        quality = 1.0
        for option in options:
            name, _sep, value = option.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((quality, tag.strip().lower()))
    return [tag for _quality, tag in sorted(weighted, key=lambda item: -item[0])]


def _bool_param(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in {"true", "false"}:
        raise bad(name, _("must be true or false"))
    return value == "true"


def _statements_response(
    xrequest: XRequest, statements: list[dict[str, Any]], body: Any, *, attachments: bool
) -> HttpResponse:
    response: HttpResponse
    if not attachments:
        response = JsonResponse(body, safe=False)
    else:
        hashes = {
            declared["sha2"]
            for statement in statements
            for declared in statement.get("attachments") or []
        }
        boundary = uuid.uuid4().hex
        chunks = [
            f"--{boundary}\r\nContent-Type: application/json\r\n\r\n".encode()
            + json.dumps(body).encode()
            + b"\r\n"
        ]
        for attachment in Attachment.objects.filter(sha2__in=hashes):
            chunks.append(
                f"--{boundary}\r\nContent-Type: {attachment.content_type}\r\n"
                f"Content-Transfer-Encoding: binary\r\nX-Experience-API-Hash: {attachment.sha2}"
                "\r\n\r\n".encode()
                + bytes(attachment.content)
                + b"\r\n"
            )
        chunks.append(f"--{boundary}--".encode())
        response = HttpResponse(
            b"".join(chunks), content_type=f"multipart/mixed; boundary={boundary}"
        )
    return response


def _matching_rows(
    visible: QuerySet[Statement],
    alternatives: list[Q],
    window: Q,
    count: int,
    *,
    ascending: bool,
) -> list[tuple[int, datetime, dict[str, Any]]]:
    """The first `count` (id, stored, data) of the unvoided statements that meet one of
    `alternatives`, or that target (by StatementRef) a statement meeting one, voided or not
    (xAPI 1.0.3, Communication 2.1.4: a voiding statement is returned with the query that
    matched what it voids). One level of StatementRef is followed, not chains of them.

    Index-served queries merged here (one per alternative, one for the statements targeting
    them): each reads at most `count` rows in (stored, id) order.
    """
    order = ["stored", "id"] if ascending else ["-stored", "-id"]
    fields = ("id", "stored", "data")
    rows = [
        row
        for matching in alternatives
        for row in visible.filter(matching, window, voided=False)
        .order_by(*order)
        .values_list(*fields)[:count]
    ]
    if not any(alternatives):
        return rows  # every statement matches: those that target one are already there
    matching = alternatives[0]
    for alternative in alternatives[1:]:
        matching |= alternative
    targets = visible.filter(matching).values("statement_id")
    rows += (
        visible.filter(window, voided=False, object_ref__in=targets)
        .order_by(*order)
        .values_list(*fields)[:count]
    )
    unique = {row[0]: row for row in rows}
    return sorted(unique.values(), key=lambda row: (row[1], row[0]), reverse=not ascending)[:count]


def _list_holds(field: str, value: str) -> Q:
    """Statements whose JSON list `field` has `value` as an element: JSON containment on
    PostgreSQL (the GIN index); elsewhere (SQLite, a laptop's `make run`, which has no JSON
    containment) the element's JSON text found in the list's, case-sensitively."""
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__contains": [value]})
    text = StrIndex(Cast(field, TextField()), Value(json.dumps(value)))
    return Q(GreaterThan(text, 0))


def _agent_at(path: str, agent: dict[str, Any]) -> Q:
    """Statements whose JSON `path` (an Agent or Group) has the identifier of `agent` (mbox and
    its SHA-1 compared case-insensitively, as agent_key does)."""
    if agent.get("mbox"):
        return Q(**{f"data__{path}__mbox__iexact": agent["mbox"]})
    if agent.get("mbox_sha1sum"):
        return Q(**{f"data__{path}__mbox_sha1sum__iexact": agent["mbox_sha1sum"]})
    if agent.get("openid"):
        return Q(**{f"data__{path}__openid": agent["openid"]})
    account = agent.get("account") or {}
    return Q(
        **{
            f"data__{path}__account__homePage": account.get("homePage"),
            f"data__{path}__account__name": account.get("name"),
        }
    )


def _member_at(path: str, agent: dict[str, Any]) -> Q:
    """Statements whose JSON `path` is a Group with `agent` among its members: JSON containment
    on PostgreSQL; elsewhere the identifier's JSON text found in the member list's."""
    name = next(k for k in ("mbox", "mbox_sha1sum", "openid", "account") if agent.get(k))
    if connection.vendor == "postgresql":
        return Q(**{f"data__{path}__member__contains": [{name: agent[name]}]})
    value = agent[name]["name"] if name == "account" else agent[name]
    text = StrIndex(Cast(f"data__{path}__member", TextField()), Value(json.dumps(value)))
    return Q(GreaterThan(text, 0))


def _agent_beyond_actor(agent: dict[str, Any], key: str) -> Q:
    """Statements naming `agent` as their object, or as a member of their actor or object
    Group (the `agent` filter is the actor or the object, a Group matching by its members:
    xAPI 1.0.3 Communication 2.1.3); among those whose related agents hold it (the GIN index)."""
    return _list_holds("related_agents", key) & (
        (Q(data__object__objectType__in=["Agent", "Group"]) & _agent_at("object", agent))
        | _member_at("actor", agent)
        | _member_at("object", agent)
    )


def _get_statements(xrequest: XRequest, caller: Caller) -> HttpResponse:
    params = xrequest.params
    unknown = set(params) - QUERY_PARAMS - {"statementId", "voidedStatementId"}
    if unknown:
        raise bad(sorted(unknown)[0], _("is not a Statements resource parameter"))
    fmt = params.get("format", "exact")
    if fmt not in {"exact", "ids", "canonical"}:
        raise bad("format", _("must be ids, exact or canonical"))
    with_attachments = _bool_param(params, "attachments")
    languages = _languages(xrequest)
    single = params.get("statementId") or params.get("voidedStatementId")
    if single is not None:
        name = "statementId" if "statementId" in params else "voidedStatementId"
        if "statementId" in params and "voidedStatementId" in params:
            raise bad(name, _("statementId and voidedStatementId cannot be combined"))
        extra = set(params) - {name, "format", "attachments"}
        if extra:
            raise bad(sorted(extra)[0], _("cannot be combined with %(name)s") % {"name": name})
        try:
            statement_uuid = uuid.UUID(single)
        except ValueError as exc:
            raise bad(name, _("must be a UUID")) from exc
        row = (
            _visible(caller)
            .filter(statement_id=statement_uuid, voided=(name == "voidedStatementId"))
            .first()
        )
        if row is None:
            return error_response(404, name, _("no such statement"))
        data = _format(row.data, fmt, languages)
        response = _statements_response(xrequest, [row.data], data, attachments=with_attachments)
        response["Last-Modified"] = http_date(row.stored.timestamp())
        return response

    # `matching`: the filters a statement itself must meet; `window`: stored time and paging,
    # which apply to every statement returned.
    matching = Q()
    # the agent filter without related_agents: the actor (its index) or, read apart, the rest
    agent_filters: list[Q] = []
    if "agent" in params:
        agent = _parse_agent(params["agent"], "agent")
        key = agent_key(agent)
        if _bool_param(params, "related_agents"):
            matching &= _list_holds("related_agents", key)
        else:
            agent_filters = [Q(actor_key=key)]
            if key:  # an identified Agent or Group (an anonymous Group has no key to hold)
                agent_filters.append(_agent_beyond_actor(agent, key))
    else:
        _bool_param(params, "related_agents")
    if "verb" in params:
        check_iri(params["verb"], "verb")
        matching &= Q(verb_id=params["verb"])
    if "activity" in params:
        check_iri(params["activity"], "activity")
        if _bool_param(params, "related_activities"):
            matching &= _list_holds("related_activities", params["activity"])
        else:
            matching &= Q(activity_id=params["activity"])
    else:
        _bool_param(params, "related_activities")
    if "registration" in params:
        try:
            matching &= Q(registration=uuid.UUID(params["registration"]))
        except ValueError as exc:
            raise bad("registration", _("must be a UUID")) from exc
    window = Q()
    if "since" in params:
        window &= Q(stored__gt=_parse_time(params["since"], "since"))
    if "until" in params:
        window &= Q(stored__lte=_parse_time(params["until"], "until"))
    try:
        limit = int(params.get("limit", "0"))
    except ValueError as exc:
        raise bad("limit", _("must be a non-negative integer")) from exc
    if limit < 0:
        raise bad("limit", _("must be a non-negative integer"))
    limit = MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)
    ascending = _bool_param(params, "ascending")
    if "cursor" in params:
        try:
            stored_text, last_id = params["cursor"].split("|")
            cursor_stored, cursor_id = _parse_time(stored_text, "cursor"), int(last_id)
        except ValueError as exc:
            raise bad("cursor", _("is not a cursor this LRS gave")) from exc
        if ascending:
            window &= Q(stored__gt=cursor_stored) | Q(stored=cursor_stored, id__gt=cursor_id)
        else:
            window &= Q(stored__lt=cursor_stored) | Q(stored=cursor_stored, id__lt=cursor_id)
    alternatives = [matching & agent_filter for agent_filter in agent_filters] or [matching]
    rows = _matching_rows(_visible(caller), alternatives, window, limit + 1, ascending=ascending)
    more = ""
    if len(rows) > limit:
        rows = rows[:limit]
        last_id_value, last_stored, _data = rows[-1]
        next_params = {k: v for k, v in params.items() if k != "cursor"}
        next_params["cursor"] = f"{last_stored.isoformat()}|{last_id_value}"
        more = "/xapi/statements?" + urlencode(next_params)
    statements = [row[2] for row in rows]
    body = {"statements": [_format(s, fmt, languages) for s in statements], "more": more}
    return _statements_response(xrequest, statements, body, attachments=with_attachments)


def statements_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The Statements resource."""
    asked = timezone.now()  # before the query: what commits after it may be missing
    floor = None
    try:
        if xrequest.method in {"GET", "HEAD"}:
            buffer.drain_now()  # a reader sees every statement accepted before its request
            # what is still on its way (a drain that could not finish, writes in flight); a
            # write's answer does not ask: one Redis round trip less on the hottest request,
            # for a header its sender does not read
            floor = buffer.floor()
        response = _statements(xrequest, caller)
    except store.CredentialRejected:
        # The cached launch credential no longer holds as cached; nothing was written.
        fresh = reauthenticate(caller)
        response = unauthorized() if fresh is None else statements_handler(xrequest, fresh)
    except (XAPIError, StatementError) as exc:
        # A refusal to a caller from the launch cache is given only once the credential is
        # confirmed: a revoked credential gets 401 whatever its statement.
        if caller.confirm is not None and reauthenticate(caller) is None:
            response = unauthorized()
        elif isinstance(exc, XAPIError):
            response = error_response(exc.status, exc.field, exc.rule)
        else:
            response = error_response(400, exc.field, exc.rule)
    response["X-Experience-API-Consistent-Through"] = consistent_through(asked, floor)
    return response


def _statements(xrequest: XRequest, caller: Caller) -> HttpResponse:
    method = xrequest.method
    if method in {"GET", "HEAD"}:
        return _get_statements(xrequest, caller)
    if method == "PUT":
        statement_id = xrequest.params.get("statementId")
        if not statement_id:
            raise bad("statementId", _("is required to PUT a statement"))
        if set(xrequest.params) - {"statementId"}:
            raise bad(sorted(set(xrequest.params) - {"statementId"})[0], _("is not allowed on PUT"))
        try:
            uuid.UUID(statement_id)
        except ValueError as exc:
            raise bad("statementId", _("must be a UUID")) from exc
        body, attachments = _parts(xrequest)
        if not isinstance(body, dict):
            raise bad("body", _("PUT takes a single statement object"))
        _store_statements([body], attachments, caller, put_id=statement_id)
        return HttpResponse(status=204)
    if method == "POST":
        if xrequest.params:
            raise bad(sorted(xrequest.params)[0], _("is not allowed on POST"))
        body, attachments = _parts(xrequest)
        statements = body if isinstance(body, list) else [body]
        if not statements:
            raise bad("body", _("must hold at least one statement"))
        ids = _store_statements(statements, attachments, caller)
        return JsonResponse(ids, safe=False)
    raise XAPIError(405, "method", _("the Statements resource takes GET, PUT and POST"))


# Activities, Agents, About ---------------------------------------------------------------


def activities_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The Activity object the LRS knows for an id (the latest definition it stored)."""
    if xrequest.method not in {"GET", "HEAD"}:
        raise XAPIError(405, "method", _("the Activities resource takes GET"))
    activity_id = xrequest.params.get("activityId")
    if not activity_id:
        raise bad("activityId", _("is required"))
    check_iri(activity_id, "activityId")
    buffer.drain_now()
    # The definition is the union of the latest definitions stored, newest winning, so that
    # names given in different languages by different statements are all returned.
    recent = list(
        _visible(caller)
        .filter(activity_id=activity_id)
        .order_by("-stored")
        .values_list("data", flat=True)[:50]
    )
    definition: dict[str, Any] = {}
    for data in reversed(recent):
        for key, value in (data["object"].get("definition") or {}).items():
            if isinstance(value, dict) and isinstance(definition.get(key), dict):
                definition[key] = {**definition[key], **value}
            else:
                definition[key] = value
    activity: dict[str, Any] = {"objectType": "Activity", "id": activity_id}
    if definition:
        activity["definition"] = definition
    return JsonResponse(activity)


def agents_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The Person object for an agent."""
    if xrequest.method not in {"GET", "HEAD"}:
        raise XAPIError(405, "method", _("the Agents resource takes GET"))
    if "agent" not in xrequest.params:
        raise bad("agent", _("is required"))
    agent = _parse_agent(xrequest.params["agent"], "agent")
    person: dict[str, Any] = {"objectType": "Person"}
    for key in ("name", "mbox", "mbox_sha1sum", "openid", "account"):
        if key in agent:
            person[key] = [agent[key]]
    return JsonResponse(person)


def about_handler(xrequest: XRequest, caller: Caller) -> HttpResponse:
    """The versions this LRS speaks."""
    if xrequest.method not in {"GET", "HEAD"}:
        raise XAPIError(405, "method", _("the About resource takes GET"))
    return JsonResponse({"version": ["1.0.3", "1.0.2", "1.0.1", "1.0.0"], "extensions": {}})


statements = xapi_view(statements_handler, confirms_launch=True)
activities = xapi_view(activities_handler)
agents = xapi_view(agents_handler)
about = xapi_view(about_handler, needs_auth=False)
state = xapi_view(documents.state_handler)
activity_profile = xapi_view(documents.activity_profile_handler)
agent_profile = xapi_view(documents.agent_profile_handler)
