"""factory_boy factories of the platform core (accounts); each app's tests add their own in
tests/<app>/factories.py."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from lms.accounts.models import Donor, Institution, MemberState, RoleAssignment, University, User

TEST_PASSWORD = "correct-horse-battery-9"


def member_state(code: str = "CO") -> MemberState:
    return MemberState.objects.get(code=code)


class InstitutionFactory(DjangoModelFactory):
    class Meta:
        model = Institution

    name = factory.Sequence(lambda n: f"Police Institution {n}")
    short_name = factory.Sequence(lambda n: f"PI{n}")
    member_state = factory.LazyFunction(lambda: member_state("CO"))
    kind = Institution.Kind.NATIONAL_POLICE


class UniversityFactory(DjangoModelFactory):
    class Meta:
        model = University

    name = factory.Sequence(lambda n: f"University {n}")
    member_state = factory.LazyFunction(lambda: member_state("CO"))


class DonorFactory(DjangoModelFactory):
    class Meta:
        model = Donor

    name = factory.Sequence(lambda n: f"Donor {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"officer{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Officer Number {n}")
    status = User.Status.ACTIVE
    preferred_language = "en"

    @factory.post_generation
    def password(obj: User, create: bool, extracted: str | None, **kwargs: Any) -> None:  # noqa: N805
        obj.set_password(extracted or TEST_PASSWORD)
        if create:
            obj.save(update_fields=["password"])


class RoleAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    user = factory.SubFactory(UserFactory)
    role = "learner"
