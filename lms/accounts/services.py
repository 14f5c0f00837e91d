"""Writes of the accounts app: invitations, activation, account changes and bulk onboarding.

Bulk onboarding is all or nothing: every row of the file is validated first, the errors are
reported by line and field, and nothing is written unless every row is right. Re-importing the
same file matches people by email (and by badge number within the institution), updates what
changed and creates no duplicates. New people get an unusable password (no hashing on import)
and an invitation email from a Celery task once the import has committed.

An import reaches only the people of the chosen institution and its units that the importing
person coordinates: anyone else holding a row's email address or badge number is an error that
does not say who they are, and an account holding any role but learner is never changed.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
import re
import secrets
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import Field, Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.functional import Promise
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from lms.accounts import principal, zones
from lms.accounts.backends import clear_failures
from lms.accounts.models import LANGUAGE_CHOICES, Institution, Role, RoleAssignment, User
from lms.accounts.permissions import get_scope
from lms.db import bulk_update

COLUMNS = ("full_name", "email", "badge_number", "unit", "language")
REQUIRED_COLUMNS = ("full_name", "email")
LANGUAGES = {code for code, _name in LANGUAGE_CHOICES}
LANGUAGE_CODES = [code for code, _name in settings.LANGUAGES]
INVITATION_BATCH = 1000
Progress = Callable[[int], None]


# --- Invitation and activation -------------------------------------------------------------


def activation_url(user: User) -> str:
    """The one-time activation link of an invited person (valid PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.SITE_URL + reverse("accounts:activate", args=[uid, token])


def send_invitation_email(*, user: User) -> None:
    """Email the person their activation link, in their language."""
    with translation.override(user.language), zones.override_for(user):
        context = {"user": user, "url": activation_url(user), "site_url": settings.SITE_URL}
        subject = str(_("Your invitation to the Police Training Network"))
        body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def queue_invitations(user_ids: Iterable[int]) -> None:
    """Send invitations through Celery after the current transaction commits."""
    from lms.accounts.tasks import send_invitations

    ids = list(user_ids)

    def enqueue() -> None:
        for start in range(0, len(ids), INVITATION_BATCH):
            send_invitations.delay(ids[start : start + INVITATION_BATCH])

    if ids:
        transaction.on_commit(enqueue)


def password_reset_users(user_ids: Iterable[int]) -> Iterator[User]:
    """Those of `user_ids` who may reset their password: active, with a password set (an
    invited person gets a new invitation instead)."""
    return (
        User.objects.filter(pk__in=list(user_ids), status=User.Status.ACTIVE)
        .exclude(password__startswith=UNUSABLE_PASSWORD_PREFIX)
        .iterator()
    )


def send_password_reset_email(*, user: User, domain: str, protocol: str) -> None:
    """Email the person a link to choose a new password, in their language."""
    with translation.override(user.language), zones.override_for(user):
        context = {
            "email": user.email,
            "domain": domain,
            "site_name": domain,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "user": user,
            "token": default_token_generator.make_token(user),
            "protocol": protocol,
        }
        subject_lines = render_to_string("accounts/email/password_reset_subject.txt", context)
        body = render_to_string("accounts/email/password_reset.txt", context)
    subject = "".join(subject_lines.splitlines())
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])


def queue_password_reset(*, email: str, domain: str, protocol: str) -> None:
    """Email whoever holds `email` a reset link (a new invitation if they are invited) through
    Celery after the current transaction commits. Queued whatever the address, so that the
    request does the same work whether it has an account or not."""
    from lms.accounts.tasks import send_password_resets

    ids = list(
        User.objects.filter(
            email=email.strip().lower(), status__in=[User.Status.ACTIVE, User.Status.INVITED]
        ).values_list("pk", flat=True)
    )
    transaction.on_commit(lambda: send_password_resets.delay(ids, domain, protocol))


@transaction.atomic
def invite_person(
    *,
    email: str,
    full_name: str,
    institution: Institution | None,
    preferred_language: str = "",
    badge_number: str = "",
) -> User:
    """Create an invited person without a password and email them their activation link."""
    user = User.objects.create_user(
        email=email,
        full_name=full_name,
        institution=institution,
        preferred_language=preferred_language,
        badge_number=badge_number,
        status=User.Status.INVITED,
        invited_at=timezone.now(),
    )
    queue_invitations([user.pk])
    return user


@transaction.atomic
def activate_account(*, request: HttpRequest, user: User, password: str) -> User:
    """Set the person's password, make them active and sign them in.

    Changing the password invalidates the token, so the link works once.
    """
    user.set_password(password)
    user.status = User.Status.ACTIVE
    user.activated_at = timezone.now()
    user.failed_login_count = 0
    user.locked_until = None
    user.save(
        update_fields=["password", "status", "activated_at", "failed_login_count", "locked_until"]
    )
    clear_failures(user.email)
    login(request, user, backend="lms.accounts.backends.EmailBackend")
    return user


def update_account(
    *, user: User, full_name: str, preferred_language: str, time_zone: str | None = None
) -> User:
    """Change the person's name, language and (when given) time zone ("" for their member
    state's)."""
    fields = ["full_name", "preferred_language"]
    user.full_name = full_name
    user.preferred_language = preferred_language
    if time_zone is not None:
        if time_zone and not zones.is_known(time_zone):
            raise ValidationError({"time_zone": _("Choose a time zone from the list.")})
        user.time_zone = time_zone
        fields.append("time_zone")
    user.save(update_fields=fields)
    return user


def issue_api_key(*, user: User) -> str:
    """A new key for the REST API in place of the person's current one (which stops working);
    the caller shows it once."""
    from rest_framework.authtoken.models import Token

    with transaction.atomic():
        # the person's row locked: two clicks at once replace the key in turn (a person has
        # one key; the second create would break that constraint)
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        Token.objects.filter(user_id=user.pk).delete()
        return Token.objects.create(user=user).key


def revoke_api_key(*, user: User) -> bool:
    """End the person's key for the REST API; whether there was one."""
    from rest_framework.authtoken.models import Token

    deleted, _rows = Token.objects.filter(user_id=user.pk).delete()
    return bool(deleted)


# --- Bulk onboarding -----------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    """One problem in the file: its line (the header is line 1), the column and what is wrong."""

    line: int
    field: str
    message: Promise | str


@dataclass
class OfficerRow:
    line: int
    full_name: str
    email: str
    badge_number: str
    unit_id: int | None
    language: str
    user_id: int | None = None


@dataclass
class ImportResult:
    """What an import did, or why it did nothing."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class ImportFileError(Exception):
    """The file itself cannot be read (format, encoding, missing columns)."""

    def __init__(self, message: Promise | str) -> None:
        super().__init__(str(message))
        self.message = message


def _normalise_header(value: object) -> str:
    return str(value or "").strip().lower().replace(" ", "_").replace("-", "_")


def read_officer_file(stream: IO[bytes], filename: str) -> Iterator[dict[str, str]]:
    """Rows of a CSV (UTF-8, comma or semicolon) or XLSX file as dicts keyed by column name."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        rows = _read_xlsx(stream)
    elif name.endswith(".csv") or name.endswith(".txt"):
        rows = _read_csv(stream)
    else:
        raise ImportFileError(_("Upload a CSV or XLSX file."))
    try:
        header = next(rows)
    except StopIteration:
        raise ImportFileError(_("The file is empty.")) from None
    columns = [_normalise_header(value) for value in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in columns]
    if missing:
        raise ImportFileError(
            _("The first line must name the columns; missing: %(columns)s.")
            % {"columns": ", ".join(missing)}
        )
    for values in rows:
        yield {
            column: str(value if value is not None else "").strip()
            for column, value in zip(columns, values, strict=False)
            if column in COLUMNS
        }


def _read_csv(stream: IO[bytes]) -> Iterator[list[str]]:
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        sample = text.read(4096)
    except UnicodeDecodeError:
        raise ImportFileError(_("The CSV file must be encoded in UTF-8.")) from None
    text.seek(0)
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    record: list[str] = []  # the lines of the record being read

    def lines() -> Iterator[str]:
        for line in text:
            record.append(line)
            yield line

    reader = csv.reader(lines(), delimiter=delimiter)
    try:
        while True:
            record.clear()
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error:
                # A field longer than csv reads (131,072 characters): the record is read again
                # with its fields cut short, still too long for any column, so that the check
                # of its column names the line and the column. Reading goes on after it.
                values = _reread_record(itertools.chain(record, text), delimiter)
            yield values
    except UnicodeDecodeError:
        raise ImportFileError(_("The CSV file must be encoded in UTF-8.")) from None


# Longer than any column of the file may be (see FIELD_LIMITS): what is kept of a longer field.
_CUT = 1000


def _reread_record(lines: Iterator[str], delimiter: str) -> list[str]:
    """The next record of `lines` as csv.reader reads it (excel dialect, not strict), each cell
    cut to _CUT + 1 characters. Consumes the lines of that record only."""
    special = re.compile("[" + re.escape(delimiter) + '"\r\n]')
    cells: list[str] = []
    cell = ""
    quoted = False  # inside a quoted cell
    fresh = True  # nothing read yet of the current cell

    def keep(more: str) -> str:
        return cell + more[: _CUT + 1 - len(cell)] if len(cell) <= _CUT else cell

    for line in lines:
        pos, end = 0, len(line)
        while pos < end:
            if quoted:
                quote = line.find('"', pos)
                if quote < 0:
                    cell, pos = keep(line[pos:]), end
                elif line.startswith('""', quote):
                    cell, pos = keep(line[pos:quote] + '"'), quote + 2
                else:
                    cell, pos, quoted = keep(line[pos:quote]), quote + 1, False
                continue
            found = special.search(line, pos)
            stop = found.start() if found else end
            if stop > pos:
                cell, fresh = keep(line[pos:stop]), False
            pos = stop
            if found is None:
                break
            char = line[stop]
            pos += 1
            if char == delimiter:
                cells.append(cell)
                cell, fresh = "", True
            elif char == '"':
                if fresh:
                    quoted, fresh = True, False
                else:
                    cell = keep('"')
            else:  # the end of the line ends the record
                cells.append(cell)
                return cells
    cells.append(cell)
    return cells


def _read_xlsx(stream: IO[bytes]) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a damaged file
        raise ImportFileError(_("The XLSX file cannot be read.")) from None
    try:
        for values in workbook.active.iter_rows(values_only=True):  # type: ignore[union-attr]
            if any(value not in (None, "") for value in values):
                yield list(values)
    finally:
        workbook.close()


# The common shape of an address, a strict subset of what Django's validator accepts: checking it
# first spares the full validator on almost every row of a 200,000-row file.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def _is_valid_email(email: str) -> bool:
    if len(email) > 254:
        return False
    if _PLAIN_EMAIL.fullmatch(email):
        return True
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


def _max_length(model: Any, name: str) -> int:
    model_field = model._meta.get_field(name)
    assert isinstance(model_field, Field)
    assert model_field.max_length is not None
    return int(model_field.max_length)


# The longest text each column may hold: its field's (a unit's name for the unit column).
FIELD_LIMITS = {
    "full_name": _max_length(User, "full_name"),
    "email": _max_length(User, "email"),
    "badge_number": _max_length(User, "badge_number"),
    "unit": _max_length(Institution, "name"),
}
assert max(FIELD_LIMITS.values()) < _CUT


def _at_most(limit: int) -> str:
    return ngettext_lazy(
        "At most %(limit)s character.", "At most %(limit)s characters.", "limit"
    ) % {"limit": limit}


def _cell_errors(line: int, raw: dict[str, str]) -> list[RowError]:
    """A null character (PostgreSQL stores none) or more text than the column's field holds."""
    errors: list[RowError] = []
    for column in COLUMNS:
        value = raw.get(column, "")
        limit = FIELD_LIMITS.get(column)
        if "\x00" in value:
            errors.append(
                RowError(
                    line,
                    column,
                    _("%(field)s: a null character is not allowed here.") % {"field": column},
                )
            )
        elif limit is not None and len(value) > limit:
            errors.append(RowError(line, column, _at_most(limit)))
    return errors


def _fold(value: str) -> str:
    """Lower case without accents: "Français" and "francais" are the same name."""
    decomposed = unicodedata.normalize("NFKD", value.strip().casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


_LANGUAGE_TAG = re.compile(r"([a-z]{2})(?:[-_](?:[a-z]{2}|[0-9]{3}))?")  # es, pt-BR, es_419


@functools.cache
def _language_names() -> dict[str, str]:
    """The platform's languages by their name in each of them, and in their own ("Français",
    "French", "Francés", "Francês"), folded."""
    names: dict[str, str] = {}
    for reader, _reader_name in settings.LANGUAGES:
        with translation.override(reader):
            for code, name in settings.LANGUAGES:
                names.setdefault(_fold(str(name)), code)
    for code, own in LANGUAGE_CHOICES:
        if code in LANGUAGE_CODES:
            names.setdefault(_fold(own), code)
    return names


def parse_language(value: str) -> str | None:
    """The platform language a file's language column names (its code, with a region or not,
    or its name in one of the platform's languages); None if it names none."""
    if value in LANGUAGE_CODES:
        return value
    folded = _fold(value)
    tag = _LANGUAGE_TAG.fullmatch(folded)
    if tag is not None:
        return tag.group(1) if tag.group(1) in LANGUAGE_CODES else None
    return _language_names().get(folded)


def _unit_lookup(institution: Institution) -> dict[str, int]:
    """Units of the institution's tree by lower-cased name and short name."""
    lookup: dict[str, int] = {}
    for pk, name, short in institution.subtree().values_list("pk", "name", "short_name"):
        lookup[name.strip().lower()] = pk
        if short:
            lookup.setdefault(short.strip().lower(), pk)
    return lookup


def validate_officer_rows(
    *,
    rows: Iterable[dict[str, str]],
    institution: Institution,
    progress: Progress | None = None,
    importer: User | None = None,
) -> tuple[list[OfficerRow], list[RowError]]:
    """Check every row and match it to an existing person; return the rows and every error.

    Existing people are matched only within `institution` and its units, and only there where
    `importer` (when given) coordinates."""
    root = institution.root
    units = _unit_lookup(institution)
    default_unit = None if institution.pk == root.pk else institution.pk
    parsed: list[OfficerRow] = []
    errors: list[RowError] = []
    seen_emails: dict[str, int] = {}
    seen_badges: dict[str, int] = {}
    for index, raw in enumerate(rows):
        line = index + 2
        full_name = raw.get("full_name", "")
        email = raw.get("email", "").lower()
        badge = raw.get("badge_number", "")
        unit_name = raw.get("unit", "")
        language = raw.get("language", "")
        cell_errors = _cell_errors(line, raw)
        errors.extend(cell_errors)
        wrong = {error.field for error in cell_errors}
        row_ok = not cell_errors
        if "full_name" in wrong:
            pass
        elif not full_name:
            errors.append(RowError(line, "full_name", _("A full name is required.")))
            row_ok = False
        if "email" in wrong:
            pass
        elif not email:
            errors.append(RowError(line, "email", _("An email address is required.")))
            row_ok = False
        else:
            if not _is_valid_email(email):
                errors.append(RowError(line, "email", _("This is not a valid email address.")))
                row_ok = False
            else:
                if email in seen_emails:
                    errors.append(
                        RowError(
                            line,
                            "email",
                            _("The same email address is on line %(line)s.")
                            % {"line": seen_emails[email]},
                        )
                    )
                    row_ok = False
                else:
                    seen_emails[email] = line
        if badge and "badge_number" not in wrong:
            if badge in seen_badges:
                errors.append(
                    RowError(
                        line,
                        "badge_number",
                        _("The same badge number is on line %(line)s.")
                        % {"line": seen_badges[badge]},
                    )
                )
                row_ok = False
            else:
                seen_badges[badge] = line
        unit_id = default_unit
        if unit_name and "unit" not in wrong:
            unit_id = units.get(unit_name.lower())
            if unit_id is None:
                errors.append(
                    RowError(
                        line,
                        "unit",
                        _("No unit named “%(unit)s” in %(institution)s.")
                        % {"unit": unit_name, "institution": institution},
                    )
                )
                row_ok = False
        if language and "language" not in wrong:
            code = parse_language(language)
            if code is None:
                errors.append(
                    RowError(
                        line,
                        "language",
                        _("Use one of: %(codes)s, or the language's name.")
                        % {"codes": ", ".join(LANGUAGE_CODES)},
                    )
                )
                row_ok = False
            language = code or ""
        if row_ok:
            parsed.append(OfficerRow(line, full_name, email, badge, unit_id, language))
        if progress is not None:
            progress(1)
    if errors:
        return parsed, errors
    allowed = importable_ids(institution, importer)
    errors.extend(_match_existing(parsed, root, allowed, institution))
    if not errors:
        errors.extend(_refuse_staff_changes(parsed))
    return parsed, errors


def importable_ids(institution: Institution, importer: User | None = None) -> set[int]:
    """The institution and its units, less those `importer` (when given) does not coordinate:
    the only places whose people an import may match and update."""
    queryset = institution.subtree()
    if importer is not None:
        scope = get_scope(importer)
        if not scope.is_dps:
            coordinated = Q(pk__in=[])
            for prefix in scope.coordinated_paths:
                coordinated |= Q(path__startswith=prefix)
            queryset = queryset.filter(coordinated)
    return set(queryset.values_list("pk", flat=True))


def _match_existing(
    rows: list[OfficerRow], root: Institution, allowed: Collection[int], institution: Institution
) -> list[RowError]:
    """Attach existing people to rows (by email, else by badge in the institution's tree).

    A person is matched only when placed (their unit, else their institution) in `allowed`: a
    cadet of the institution's academy is its own. Anyone else holding the row's email address
    or badge number is an error that does not say who they are."""
    errors: list[RowError] = []
    tree = set(
        Institution.objects.filter(path__startswith=root.path).values_list("pk", flat=True)
    ) | {root.pk}
    outside = {"institution": institution}
    by_email: dict[str, tuple[int, int | None]] = {}
    emails = [row.email for row in rows]
    for start in range(0, len(emails), 5000):
        for pk, email, institution_id, unit_id in User.objects.filter(
            email__in=emails[start : start + 5000]
        ).values_list("pk", "email", "institution_id", "unit_id"):
            by_email[email] = (pk, unit_id or institution_id)
    # Badge numbers are unique within the tree (new people join its top institution).
    by_badge: dict[str, list[tuple[int, int | None, str]]] = defaultdict(list)
    for pk, email, badge, institution_id, unit_id in (
        User.objects.filter(institution_id__in=tree)
        .exclude(badge_number="")
        .values_list("pk", "email", "badge_number", "institution_id", "unit_id")
    ):
        by_badge[badge].append((pk, unit_id or institution_id, email))
    # People whose email address is on a line of the file: that line is theirs, so another line
    # with their badge number is someone else (matching both would lose that line's officer).
    on_file = {by_email[row.email][0] for row in rows if row.email in by_email}
    for row in rows:
        existing = by_email.get(row.email)
        if existing is not None:
            if existing[1] not in allowed:
                errors.append(
                    RowError(
                        row.line,
                        "email",
                        _(
                            "This email address is already used by a person outside "
                            "%(institution)s and its units."
                        )
                        % outside,
                    )
                )
                continue
            row.user_id = existing[0]
        if row.badge_number:
            holders = [h for h in by_badge.get(row.badge_number, ()) if h[0] != row.user_id]
            if any(placement not in allowed for _pk, placement, _email in holders):
                errors.append(
                    RowError(
                        row.line,
                        "badge_number",
                        _(
                            "This badge number is already used by a person outside "
                            "%(institution)s and its units."
                        )
                        % outside,
                    )
                )
            elif len(holders) == 1 and row.user_id is None and holders[0][0] not in on_file:
                row.user_id = holders[0][0]  # same officer, new email address
            elif holders:
                errors.append(
                    RowError(
                        row.line,
                        "badge_number",
                        _("This badge number belongs to %(email)s.") % {"email": holders[0][2]},
                    )
                )
    return errors


def _staff_ids(user_ids: Collection[int]) -> set[int]:
    """Those of these people who hold a role other than learner, or the admin's staff flags."""
    ids = list(user_ids)
    staff: set[int] = set()
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        staff.update(
            RoleAssignment.objects.filter(user_id__in=chunk)
            .exclude(role=Role.LEARNER)
            .values_list("user_id", flat=True)
        )
        staff.update(
            User.objects.filter(Q(is_staff=True) | Q(is_superuser=True), pk__in=chunk).values_list(
                "pk", flat=True
            )
        )
    return staff


def _refuse_staff_changes(rows: list[OfficerRow]) -> list[RowError]:
    """An import never changes the account of a coordinator, instructor, validator, donor or
    DPS staff member (their email address leads to a password reset): a line that would is an
    error; a line that leaves them as they are is fine."""
    staff = _staff_ids({row.user_id for row in rows if row.user_id is not None})
    if not staff:
        return []
    current = {
        pk: values
        for pk, *values in User.objects.filter(pk__in=staff).values_list(
            "pk", "full_name", "email", "badge_number", "unit_id", "preferred_language"
        )
    }
    errors: list[RowError] = []
    for row in rows:
        if row.user_id not in staff:
            continue
        full_name, email, badge, unit_id, language = current[row.user_id]
        wanted = (row.full_name, row.email, row.badge_number, row.unit_id, row.language or language)
        changed = [
            column
            for column, old, new in zip(
                ("full_name", "email", "badge_number", "unit", "language"),
                (full_name, email, badge, unit_id, language),
                wanted,
                strict=True,
            )
            if old != new
        ]
        if changed:
            errors.append(
                RowError(
                    row.line,
                    changed[0],
                    _("This person holds a staff role: change their account in person."),
                )
            )
    return errors


def import_officers(
    *,
    institution: Institution,
    rows: Iterable[dict[str, str]],
    invite: bool = True,
    progress: Progress | None = None,
    importer: User | None = None,
) -> ImportResult:
    """Validate every row, then create or update the officers in one transaction.

    Nothing is written if any row is wrong. Returns counts, or the errors by line and field.
    `importer`, the person importing (None: the command line), must coordinate `institution`;
    only people of its units they coordinate are matched and updated.
    """
    if importer is not None and not get_scope(importer).coordinates(institution):
        raise PermissionDenied("accounts.import_officers")
    parsed, errors = validate_officer_rows(
        rows=rows, institution=institution, progress=progress, importer=importer
    )
    result = ImportResult(rows=len(parsed) + len({error.line for error in errors}))
    if errors:
        result.errors = sorted(errors, key=lambda error: (error.line, COLUMNS.index(error.field)))
        return result
    root = institution.root
    allowed = importable_ids(institution, importer)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            created_ids, updated = _write_postgresql(parsed, root, allowed_ids=allowed)
        else:
            created_ids, updated = _write_orm(parsed, root, allowed_ids=allowed)
        if invite:
            queue_invitations(created_ids)
    result.created = len(created_ids)
    result.created_ids = created_ids
    result.updated = updated
    result.unchanged = len(parsed) - result.created - updated
    return result


def _write_postgresql(
    rows: list[OfficerRow], root: Institution, *, allowed_ids: Collection[int] | None = None
) -> tuple[list[int], int]:
    """COPY the rows into a temporary table, then one UPDATE and one INSERT … ON CONFLICT.

    The UPDATE, like the checks before it, touches only people placed in `allowed_ids` (default:
    the root's tree) who hold no role but learner, whatever the rows say."""
    now = timezone.now()
    allowed = list(_tree_ids(root) if allowed_ids is None else allowed_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMPORARY TABLE officer_import ("
            " user_id bigint, email varchar(254), full_name varchar(200),"
            " badge_number varchar(50), unit_id bigint, language varchar(2)"
            ") ON COMMIT DROP"
        )
        with cursor.copy(  # type: ignore[attr-defined]
            "COPY officer_import (user_id, email, full_name, badge_number, unit_id, language)"
            " FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(
                    (
                        row.user_id,
                        row.email,
                        row.full_name,
                        row.badge_number,
                        row.unit_id,
                        row.language,
                    )
                )
        cursor.execute("ANALYZE officer_import")  # a temporary table has no statistics
        cursor.execute(
            "UPDATE accounts_user AS u SET email = t.email, full_name = t.full_name,"
            " badge_number = t.badge_number, unit_id = t.unit_id,"
            " preferred_language = CASE WHEN t.language = '' THEN u.preferred_language"
            " ELSE t.language END"
            " FROM officer_import AS t WHERE u.id = t.user_id AND ("
            "(u.email, u.full_name, u.badge_number, u.unit_id) IS DISTINCT FROM"
            " (t.email, t.full_name, t.badge_number, t.unit_id)"
            " OR (t.language <> '' AND u.preferred_language <> t.language))"
            " AND COALESCE(u.unit_id, u.institution_id) = ANY(%s)"
            " AND NOT u.is_staff AND NOT u.is_superuser"
            " AND NOT EXISTS (SELECT 1 FROM accounts_roleassignment AS r"
            " WHERE r.user_id = u.id AND r.role <> %s)"
            " RETURNING u.id",
            [allowed, Role.LEARNER.value],
        )
        updated_ids = [pk for (pk,) in cursor.fetchall()]
        updated = len(updated_ids)
        principal.forget_many(updated_ids)  # their cached names and units changed
        # '!' marks an unusable password (activation sets the real one); the random suffix
        # makes each person's activation token different.
        cursor.execute(
            "INSERT INTO accounts_user (password, is_superuser, email, full_name,"
            " preferred_language, institution_id, unit_id, member_state_id, badge_number, status,"
            " is_staff, date_joined, invited_at, failed_login_count)"
            " SELECT '!' || md5(random()::text || t.email), false, t.email, t.full_name,"
            " t.language, %s, t.unit_id, %s, t.badge_number, %s, false, %s, %s, 0"
            " FROM officer_import AS t WHERE t.user_id IS NULL"
            " ON CONFLICT DO NOTHING RETURNING id",
            [root.pk, root.member_state_id, User.Status.INVITED, now, now],
        )
        created_ids = [pk for (pk,) in cursor.fetchall()]
        # Dropped now rather than at commit: the caller's transaction may hold on longer.
        cursor.execute("DROP TABLE officer_import")
    return created_ids, updated


def _tree_ids(root: Institution) -> set[int]:
    return set(root.subtree().values_list("pk", flat=True)) | {root.pk}


def _write_orm(
    rows: list[OfficerRow], root: Institution, *, allowed_ids: Collection[int] | None = None
) -> tuple[list[int], int]:
    """The portable path (SQLite laptops): bulk_create and bulk_update (the same people as
    the PostgreSQL path's UPDATE: placed in `allowed_ids`, holding no role but learner)."""
    now = timezone.now()
    allowed = _tree_ids(root) if allowed_ids is None else set(allowed_ids)
    existing = User.objects.in_bulk([row.user_id for row in rows if row.user_id])
    staff = _staff_ids(existing)
    changed: list[User] = []
    for row in rows:
        if row.user_id is None:
            continue
        user = existing[row.user_id]
        if user.pk in staff or (user.unit_id or user.institution_id) not in allowed:
            continue
        language = row.language or user.preferred_language
        new = (row.email, row.full_name, row.badge_number, row.unit_id, language)
        old = (user.email, user.full_name, user.badge_number, user.unit_id, user.preferred_language)
        if new != old:
            user.email, user.full_name, user.badge_number, user.unit_id = new[:4]
            user.preferred_language = language
            changed.append(user)
    if changed:
        bulk_update(
            changed,
            ["email", "full_name", "badge_number", "unit_id", "preferred_language"],
            batch_size=1000,
        )
        principal.forget_many(user.pk for user in changed)
    new_users = [
        User(
            password="!" + secrets.token_hex(20),
            email=row.email,
            full_name=row.full_name,
            preferred_language=row.language,
            institution_id=root.pk,
            unit_id=row.unit_id,
            member_state_id=root.member_state_id,
            badge_number=row.badge_number,
            status=User.Status.INVITED,
            date_joined=now,
            invited_at=now,
        )
        for row in rows
        if row.user_id is None
    ]
    User.objects.bulk_create(new_users, batch_size=1000)
    emails = [user.email for user in new_users]
    created_ids: list[int] = []
    for start in range(0, len(emails), 5000):
        created_ids.extend(
            User.objects.filter(email__in=emails[start : start + 5000]).values_list("pk", flat=True)
        )
    return created_ids, len(changed)
