"""Permission rules of the certification app, registered with lms.accounts.permissions."""

from __future__ import annotations

from typing import Any

from lms.accounts.permissions import get_scope, has_perm, register_rule


def _views_certificate(user: Any, certificate: Any) -> bool:
    """The holder, DPS, coordinators of the holder's or the issuing institution, validators of
    the accrediting university."""
    if certificate is None:
        return False
    scope = get_scope(user)
    if scope.is_dps or certificate.user_id == user.pk:
        return True
    if scope.is_coordinator and (
        (certificate.institution_id and scope.coordinates(certificate.institution_id))
        or (
            certificate.issuing_institution_id
            and scope.coordinates(certificate.issuing_institution_id)
        )
    ):
        return True
    return scope.is_validator and certificate.university_id in scope.university_ids


def _revokes(user: Any, certificate: Any) -> bool:
    """DPS, or a coordinator of the institution that issued the certificate."""
    if certificate is None:
        return False
    scope = get_scope(user)
    if scope.is_dps:
        return True
    return bool(
        scope.is_coordinator
        and certificate.issuing_institution_id
        and scope.coordinates(certificate.issuing_institution_id)
    )


def _issues_run(user: Any, run: Any) -> bool:
    """Bulk issuance: DPS, or a coordinator of the run's host institution."""
    return run is not None and has_perm(user, "courses.coordinate_run", run)


def _verifies_many(user: Any, obj: Any) -> bool:
    scope = get_scope(user)
    return scope.is_dps or scope.is_validator


def register() -> None:
    register_rule("certification.view_certificate", _views_certificate)
    register_rule("certification.revoke_certificate", _revokes)
    register_rule("certification.issue_run", _issues_run)
    register_rule("certification.verify_many", _verifies_many)
