"""Validation of xAPI 1.0.3 statements and agents; each error names the field and the rule."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.utils.translation import gettext as _

UUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$"
)
IRI_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:[^\s]+$")
MBOX_RE = re.compile(r"^mailto:[^@\s]+@[^@\s]+$")
SHA1_RE = re.compile(r"^[0-9a-fA-F]{40}$")
LANG_RE = re.compile(r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$")
TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
)
DURATION_RE = re.compile(
    r"^P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?"
    r"(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?$"
)
INTERACTION_TYPES = {
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
}


class StatementError(ValueError):
    """Bad input; `field` is the JSON path of the offending value."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


def _object(value: Any, field: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatementError(field, _("must be a JSON object"))
    extra = set(value) - allowed
    if extra:
        raise StatementError(f"{field}.{sorted(extra)[0]}", _("is not a property allowed here"))
    return value


def check_uuid(value: Any, field: str) -> None:
    """A UUID in its canonical string form."""
    if not isinstance(value, str) or not UUID_RE.match(value):
        raise StatementError(field, _("must be a UUID (8-4-4-4-12 hexadecimal, variant 2)"))


# The longest IRI the LRS stores (an activity's id: its column holds 2,048 characters; a verb's
# 512). Longer ones are refused with a 400 instead of failing in the database.
MAX_IRI = 2048
MAX_VERB_IRI = 512


def check_iri(value: Any, field: str, longest: int = MAX_IRI) -> None:
    """An absolute IRI (a scheme, then no whitespace) of at most `longest` characters."""
    if not isinstance(value, str) or not IRI_RE.match(value):
        raise StatementError(field, _("must be an absolute IRI"))
    if len(value) > longest:
        raise StatementError(
            field, _("must be at most %(longest)s characters long") % {"longest": longest}
        )


def check_language_map(value: Any, field: str) -> None:
    """An object from RFC 5646 language tags to strings."""
    if not isinstance(value, dict):
        raise StatementError(field, _("must be a language map (an object)"))
    for tag, text in value.items():
        if not LANG_RE.match(tag):
            raise StatementError(f"{field}.{tag}", _("is not an RFC 5646 language tag"))
        if not isinstance(text, str):
            raise StatementError(f"{field}.{tag}", _("must be a string"))


def check_extensions(value: Any, field: str) -> None:
    if not isinstance(value, dict):
        raise StatementError(field, _("must be an object whose keys are IRIs"))
    for key in value:
        check_iri(key, f"{field}.{key}")


def check_timestamp(value: Any, field: str) -> None:
    """An ISO 8601 date-time; -00:00 is not a time zone offset."""
    if not isinstance(value, str) or not TIMESTAMP_RE.match(value):
        raise StatementError(field, _("must be an ISO 8601 timestamp"))
    if value.endswith("-00:00") or value.endswith("-0000") or value.endswith("-00"):
        raise StatementError(field, _("must not use the -00:00 offset"))
    if parse_time(value) is None:
        raise StatementError(field, _("must be an ISO 8601 timestamp between the years 1 and 9999"))


def parse_time(text: str) -> Any:
    """An ISO 8601 date-time as an aware datetime, None when it is not one or when it leaves
    the years 1 to 9999 once in UTC (9999-12-31T23:59-05:00 is year 10000 there: the database
    and Python's datetime refused it with an OverflowError, a 500)."""
    from datetime import UTC

    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    try:
        value = parse_datetime(text)
        if value is None:
            return None
        if timezone.is_naive(value):
            value = timezone.make_aware(value, UTC)
        value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return value


def check_agent(
    value: Any, field: str, *, allow_group: bool = True, ifi_required: bool = True
) -> None:
    """An Agent, or a Group where allowed."""
    if not isinstance(value, dict):
        raise StatementError(field, _("must be an Agent or Group object"))
    kind = value.get("objectType", "Agent")
    if not isinstance(kind, str):
        raise StatementError(f"{field}.objectType", _("must be a string"))
    if kind == "Group":
        if not allow_group:
            raise StatementError(f"{field}.objectType", _("must be Agent here"))
        _object(
            value,
            field,
            {"objectType", "name", "member", "mbox", "mbox_sha1sum", "openid", "account"},
        )
        ifis = _check_ifis(value, field)
        if "member" in value:
            if not isinstance(value["member"], list):
                raise StatementError(f"{field}.member", _("must be an array of Agents"))
            for index, member in enumerate(value["member"]):
                check_agent(member, f"{field}.member[{index}]", allow_group=False)
        if ifis == 0 and not value.get("member"):
            raise StatementError(f"{field}.member", _("an anonymous Group must list its members"))
    elif kind == "Agent":
        _object(value, field, {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})
        if _check_ifis(value, field) != 1 and ifi_required:
            raise StatementError(
                field, _("must have exactly one of mbox, mbox_sha1sum, openid, account")
            )
    else:
        raise StatementError(f"{field}.objectType", _("must be Agent or Group"))
    if "name" in value and not isinstance(value["name"], str):
        raise StatementError(f"{field}.name", _("must be a string"))


def _check_ifis(value: dict[str, Any], field: str) -> int:
    count = 0
    if "mbox" in value:
        count += 1
        if not isinstance(value["mbox"], str) or not MBOX_RE.match(value["mbox"]):
            raise StatementError(f"{field}.mbox", _("must be a mailto: IRI"))
    if "mbox_sha1sum" in value:
        count += 1
        if not isinstance(value["mbox_sha1sum"], str) or not SHA1_RE.match(value["mbox_sha1sum"]):
            raise StatementError(f"{field}.mbox_sha1sum", _("must be a SHA-1 hex string"))
    if "openid" in value:
        count += 1
        check_iri(value["openid"], f"{field}.openid")
    if "account" in value:
        count += 1
        account = _object(value["account"], f"{field}.account", {"homePage", "name"})
        if "homePage" not in account:
            raise StatementError(f"{field}.account.homePage", _("is required"))
        check_iri(account["homePage"], f"{field}.account.homePage")
        if not isinstance(account.get("name"), str):
            raise StatementError(f"{field}.account.name", _("is required and must be a string"))
    if count > 1:
        raise StatementError(field, _("must not have more than one inverse functional identifier"))
    return count


def check_activity(value: Any, field: str) -> None:
    act = _object(value, field, {"objectType", "id", "definition"})
    if act.get("objectType", "Activity") != "Activity":
        raise StatementError(f"{field}.objectType", _("must be Activity"))
    if "id" not in act:
        raise StatementError(f"{field}.id", _("is required"))
    check_iri(act["id"], f"{field}.id")
    if "definition" in act:
        check_definition(act["definition"], f"{field}.definition")


def check_definition(value: Any, field: str) -> None:
    allowed = {
        "name",
        "description",
        "type",
        "moreInfo",
        "extensions",
        "interactionType",
        "correctResponsesPattern",
        "choices",
        "scale",
        "source",
        "target",
        "steps",
    }
    definition = _object(value, field, allowed)
    for key in ("name", "description"):
        if key in definition:
            check_language_map(definition[key], f"{field}.{key}")
    for key in ("type", "moreInfo"):
        if key in definition:
            check_iri(definition[key], f"{field}.{key}")
    if "extensions" in definition:
        check_extensions(definition["extensions"], f"{field}.extensions")
    if "interactionType" in definition and (
        not isinstance(definition["interactionType"], str)
        or definition["interactionType"] not in INTERACTION_TYPES
    ):
        raise StatementError(f"{field}.interactionType", _("is not an xAPI interaction type"))
    if "correctResponsesPattern" in definition:
        if "interactionType" not in definition:
            raise StatementError(f"{field}.correctResponsesPattern", _("needs an interactionType"))
        pattern = definition["correctResponsesPattern"]
        if not isinstance(pattern, list) or not all(isinstance(p, str) for p in pattern):
            raise StatementError(
                f"{field}.correctResponsesPattern", _("must be an array of strings")
            )
    for key in ("choices", "scale", "source", "target", "steps"):
        if key in definition:
            if "interactionType" not in definition:
                raise StatementError(f"{field}.{key}", _("needs an interactionType"))
            components = definition[key]
            if not isinstance(components, list):
                raise StatementError(f"{field}.{key}", _("must be an array"))
            for index, component in enumerate(components):
                item = _object(component, f"{field}.{key}[{index}]", {"id", "description"})
                if not isinstance(item.get("id"), str):
                    raise StatementError(f"{field}.{key}[{index}].id", _("is required"))
                if "description" in item:
                    check_language_map(item["description"], f"{field}.{key}[{index}].description")


def _check_statement_ref(value: dict[str, Any], field: str) -> None:
    _object(value, field, {"objectType", "id"})
    if "id" not in value:
        raise StatementError(f"{field}.id", _("is required"))
    check_uuid(value["id"], f"{field}.id")


def check_object(value: Any, field: str, *, sub: bool = False) -> None:
    if not isinstance(value, dict):
        raise StatementError(field, _("must be an object"))
    kind = value.get("objectType", "Activity")
    if not isinstance(kind, str):
        raise StatementError(f"{field}.objectType", _("must be a string"))
    if kind == "Activity":
        check_activity(value, field)
    elif kind in {"Agent", "Group"}:
        check_agent(value, field)
    elif kind == "StatementRef":
        _check_statement_ref(value, field)
    elif kind == "SubStatement":
        if sub:
            raise StatementError(f"{field}.objectType", _("a SubStatement must not contain one"))
        _object(
            value,
            field,
            {
                "objectType",
                "actor",
                "verb",
                "object",
                "result",
                "context",
                "timestamp",
                "attachments",
            },
        )
        _check_body(value, field, sub=True)
    else:
        raise StatementError(f"{field}.objectType", _("is not an xAPI object type"))


def check_result(value: Any, field: str) -> None:
    result = _object(
        value, field, {"score", "success", "completion", "response", "duration", "extensions"}
    )
    if "score" in result:
        score = _object(result["score"], f"{field}.score", {"scaled", "raw", "min", "max"})
        for key, item in score.items():
            if isinstance(item, bool) or not isinstance(item, int | float):
                raise StatementError(f"{field}.score.{key}", _("must be a number"))
        if "scaled" in score and not -1 <= score["scaled"] <= 1:
            raise StatementError(f"{field}.score.scaled", _("must be between -1 and 1"))
        if "min" in score and "max" in score and score["min"] >= score["max"]:
            raise StatementError(f"{field}.score.min", _("must be less than max"))
        if "raw" in score:
            if "min" in score and score["raw"] < score["min"]:
                raise StatementError(f"{field}.score.raw", _("must not be less than min"))
            if "max" in score and score["raw"] > score["max"]:
                raise StatementError(f"{field}.score.raw", _("must not be more than max"))
    for key in ("success", "completion"):
        if key in result and not isinstance(result[key], bool):
            raise StatementError(f"{field}.{key}", _("must be true or false"))
    if "response" in result and not isinstance(result["response"], str):
        raise StatementError(f"{field}.response", _("must be a string"))
    if "duration" in result and (
        not isinstance(result["duration"], str)
        or not DURATION_RE.match(result["duration"])
        or ("W" in result["duration"] and not re.match(r"^P\d+(\.\d+)?W$", result["duration"]))
    ):
        raise StatementError(f"{field}.duration", _("must be an ISO 8601 duration"))
    if "extensions" in result:
        check_extensions(result["extensions"], f"{field}.extensions")


def check_context(value: Any, field: str, object_kind: str) -> None:
    context = _object(
        value,
        field,
        {
            "registration",
            "instructor",
            "team",
            "contextActivities",
            "revision",
            "platform",
            "language",
            "statement",
            "extensions",
        },
    )
    if "registration" in context:
        check_uuid(context["registration"], f"{field}.registration")
    if "instructor" in context:
        check_agent(context["instructor"], f"{field}.instructor")
    if "team" in context:
        team = context["team"]
        if not isinstance(team, dict) or team.get("objectType") != "Group":
            raise StatementError(f"{field}.team", _("must be a Group"))
        check_agent(team, f"{field}.team")
    if "contextActivities" in context:
        activities = _object(
            context["contextActivities"],
            f"{field}.contextActivities",
            {"parent", "grouping", "category", "other"},
        )
        for key, item in activities.items():
            items = item if isinstance(item, list) else [item]
            for index, activity in enumerate(items):
                check_activity(activity, f"{field}.contextActivities.{key}[{index}]")
    for key in ("revision", "platform"):
        if key in context:
            if not isinstance(context[key], str):
                raise StatementError(f"{field}.{key}", _("must be a string"))
            if object_kind != "Activity":
                raise StatementError(
                    f"{field}.{key}", _("is allowed only when the object is an Activity")
                )
    if "language" in context and (
        not isinstance(context["language"], str) or not LANG_RE.match(context["language"])
    ):
        raise StatementError(f"{field}.language", _("must be an RFC 5646 language tag"))
    if "statement" in context:
        ref = context["statement"]
        if not isinstance(ref, dict) or ref.get("objectType") != "StatementRef":
            raise StatementError(f"{field}.statement", _("must be a StatementRef"))
        _check_statement_ref(ref, f"{field}.statement")
    if "extensions" in context:
        check_extensions(context["extensions"], f"{field}.extensions")


def check_attachments(value: Any, field: str) -> None:
    if not isinstance(value, list):
        raise StatementError(field, _("must be an array"))
    for index, item in enumerate(value):
        name = f"{field}[{index}]"
        attachment = _object(
            item,
            name,
            {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"},
        )
        for key in ("usageType", "display", "contentType", "length", "sha2"):
            if key not in attachment:
                raise StatementError(f"{name}.{key}", _("is required"))
        check_iri(attachment["usageType"], f"{name}.usageType")
        check_language_map(attachment["display"], f"{name}.display")
        if "description" in attachment:
            check_language_map(attachment["description"], f"{name}.description")
        if not isinstance(attachment["contentType"], str):
            raise StatementError(f"{name}.contentType", _("must be an Internet Media Type"))
        length = attachment["length"]
        if isinstance(length, bool) or not isinstance(length, int) or length < 0:
            raise StatementError(f"{name}.length", _("must be a non-negative integer"))
        if not isinstance(attachment["sha2"], str) or not re.match(
            r"^[0-9a-fA-F]{56,128}$", attachment["sha2"]
        ):
            raise StatementError(f"{name}.sha2", _("must be a SHA-2 hex digest"))
        if "fileUrl" in attachment:
            check_iri(attachment["fileUrl"], f"{name}.fileUrl")


def _check_body(statement: dict[str, Any], field: str, *, sub: bool) -> None:
    prefix = f"{field}." if field else ""
    for key in ("actor", "verb", "object"):
        if key not in statement:
            raise StatementError(prefix + key, _("is required"))
    check_agent(statement["actor"], prefix + "actor")
    verb = _object(statement["verb"], prefix + "verb", {"id", "display"})
    if "id" not in verb:
        raise StatementError(prefix + "verb.id", _("is required"))
    check_iri(verb["id"], prefix + "verb.id", MAX_VERB_IRI)
    if "display" in verb:
        check_language_map(verb["display"], prefix + "verb.display")
    check_object(statement["object"], prefix + "object", sub=sub)
    if "result" in statement:
        check_result(statement["result"], prefix + "result")
    if "context" in statement:
        kind = statement["object"].get("objectType", "Activity")
        check_context(statement["context"], prefix + "context", kind)
    if "timestamp" in statement:
        check_timestamp(statement["timestamp"], prefix + "timestamp")
    if "attachments" in statement:
        check_attachments(statement["attachments"], prefix + "attachments")


def check_statement(statement: Any) -> None:
    """Raise StatementError unless `statement` is a valid xAPI 1.0.3 statement."""
    if not isinstance(statement, dict):
        raise StatementError("statement", _("must be a JSON object"))
    _object(
        statement,
        "statement",
        {
            "id",
            "actor",
            "verb",
            "object",
            "result",
            "context",
            "timestamp",
            "stored",
            "authority",
            "version",
            "attachments",
        },
    )
    if "id" in statement:
        check_uuid(statement["id"], "id")
    _check_body(statement, "", sub=False)
    if "stored" in statement:
        check_timestamp(statement["stored"], "stored")
    if "authority" in statement:
        check_agent(statement["authority"], "authority")
        authority = statement["authority"]
        if authority.get("objectType") == "Group" and (
            len(authority.get("member", [])) != 2
            or any(key in authority for key in ("mbox", "mbox_sha1sum", "openid", "account"))
        ):
            raise StatementError(
                "authority", _("a Group authority is an anonymous OAuth Group of two Agents")
            )
    if "version" in statement and (
        not isinstance(statement["version"], str)
        or not re.match(r"^1\.0(\.\d+)?$", statement["version"])
    ):
        raise StatementError("version", _("must be 1.0.x"))
    verb_id = statement["verb"]["id"]
    if (
        verb_id == "http://adlnet.gov/expapi/verbs/voided"
        and statement["object"].get("objectType") != "StatementRef"
    ):
        raise StatementError(
            "object.objectType", _("a voiding statement's object is a StatementRef")
        )


def parse_uuid(value: str, field: str) -> uuid.UUID:
    """A UUID parameter, or StatementError naming it."""
    check_uuid(value, field)
    return uuid.UUID(value)
