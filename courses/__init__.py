"""Curricula, course runs, lessons, enrolment, attendance, progress and completion."""
