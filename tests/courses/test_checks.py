"""The system checks (`manage.py check`, which `migrate` runs) tell a deployment of a bulk
enrolment threshold that would refuse every click or make a click one long request."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from courses.checks import LONGEST_AT_ONCE, check_enrolment_threshold


def test_the_default_threshold_passes() -> None:
    assert check_enrolment_threshold() == []
    call_command("check", "--tag", "lms")


@pytest.mark.parametrize("value", [0, -5])
def test_a_threshold_below_one_stops_the_start(value: int) -> None:
    with override_settings(LMS_ENROL_IN_BACKGROUND_FROM=value):
        [message] = check_enrolment_threshold()
        assert message.id == "courses.E001"
        assert "LMS_ENROL_IN_BACKGROUND_FROM" in message.msg
        with pytest.raises(SystemCheckError, match="courses.E001"):
            call_command("check", "--tag", "lms")


def test_a_threshold_far_above_what_a_request_should_do_warns() -> None:
    with override_settings(LMS_ENROL_IN_BACKGROUND_FROM=LONGEST_AT_ONCE + 1):
        [message] = check_enrolment_threshold()
    assert message.id == "courses.W001"
    assert str(LONGEST_AT_ONCE) in message.hint
    with override_settings(LMS_ENROL_IN_BACKGROUND_FROM=LONGEST_AT_ONCE):
        assert check_enrolment_threshold() == []
