"""Aggregates kept up to date as events happen, so that dashboard pages never scan enrolments.

Dimensions are plain integer columns (0 for "none"), not foreign keys: the tables are written on
every event and rebuilt from scratch by `manage.py rebuild_dashboards`, and they must never block
or cascade a deletion in the apps they summarise.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Counters(models.Model):
    """What every tally table has: the dimensions all of them share (mode, language and
    replication of the run) and the counters (see MonthlyTally for what each counts)."""

    mode = models.CharField(max_length=10, blank=True)
    language = models.CharField(max_length=2, blank=True)
    replication = models.BooleanField(default=False)

    enrolled = models.IntegerField(default=0)
    completed = models.IntegerField(default=0)
    passed = models.IntegerField(default=0)
    assessed = models.IntegerField(default=0)
    certificates = models.IntegerField(default=0)
    revoked = models.IntegerField(default=0)
    attended = models.IntegerField(default=0)
    expected = models.IntegerField(default=0)

    class Meta:
        abstract = True


class MonthlyTally(Counters):
    """Counters for one (month, member state, institution, run, program) cell.

    `member_state_id` and `institution_id` are the learner's (as denormalised on the enrolment);
    course, delivery mode, language and whether the run replicates a train-the-trainers run are
    copied from the run so that every breakdown is a GROUP BY on this table alone. Each counter
    is attributed to the month of its own event: enrolments to the month enrolled, completions to
    the month completed, certificates to the month issued, attendance to the session's month.

    At full scale this table has hundreds of thousands of cells: pages that need neither the
    institution nor the run read the much smaller rollups below (selectors.tally_table picks).
    """

    month = models.DateField(_("month"))
    member_state_id = models.IntegerField(default=0)
    institution_id = models.IntegerField(default=0)
    run_id = models.IntegerField(default=0)
    # Only program certificates have a program and no run.
    program_id = models.IntegerField(default=0)
    course_id = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("monthly tally")
        verbose_name_plural = _("monthly tallies")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "member_state_id", "institution_id", "run_id", "program_id"],
                name="dashboards_tally_cell",
            )
        ]
        indexes = [
            models.Index(fields=["member_state_id", "month"]),
            models.Index(fields=["institution_id", "month"]),
            models.Index(fields=["run_id", "month"]),
            models.Index(fields=["course_id", "month"]),
            models.Index(fields=["program_id"]),
            models.Index(fields=["month"]),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} state {self.member_state_id} run {self.run_id}"


# Rollups: the same counters summed over fewer dimensions, kept by the same receivers in the same
# transaction (one more upsert each per event) and rebuilt from MonthlyTally with one
# INSERT ... SELECT ... GROUP BY each. Their keys must stay the GROUP BY of that rebuild.


class StateTally(Counters):
    """Counters by (month, member state, mode, language, replication): the network-wide views
    (totals, trend, map, member states, modes, languages) read a few thousand rows of this."""

    month = models.DateField(_("month"))
    member_state_id = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("tally by member state")
        verbose_name_plural = _("tallies by member state")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "member_state_id", "mode", "language", "replication"],
                name="dashboards_statetally_cell",
            )
        ]
        indexes = [models.Index(fields=["member_state_id", "month"])]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} state {self.member_state_id}"


class InstitutionTally(Counters):
    """Counters by (month, institution, member state, mode, language, replication): the
    breakdown by institution and an institution's (or a coordinator's) totals and trend."""

    month = models.DateField(_("month"))
    institution_id = models.IntegerField(default=0)
    member_state_id = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("tally by institution")
        verbose_name_plural = _("tallies by institution")
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "month",
                    "institution_id",
                    "member_state_id",
                    "mode",
                    "language",
                    "replication",
                ],
                name="dashboards_institutiontally_cell",
            )
        ]
        indexes = [
            models.Index(fields=["institution_id", "month"]),
            models.Index(fields=["member_state_id", "month"]),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} institution {self.institution_id}"


class RunTally(Counters):
    """Counters by (month, run, program), with the run's course, mode, language and replication:
    the breakdowns by run, course and program and the views of a course, run or program."""

    month = models.DateField(_("month"))
    run_id = models.IntegerField(default=0)
    program_id = models.IntegerField(default=0)
    course_id = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("tally by course run")
        verbose_name_plural = _("tallies by course run")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "run_id", "program_id"], name="dashboards_runtally_cell"
            )
        ]
        indexes = [
            models.Index(fields=["run_id", "month"]),
            models.Index(fields=["course_id", "month"]),
            models.Index(fields=["program_id", "month"]),
            models.Index(fields=["mode", "month"]),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} run {self.run_id}"


class LearnerActivity(models.Model):
    """The last day each enrolment saw activity, for "active learners in the last 7/30 days".

    One row per enrolment (not per event): a learner active every day moves one date forward
    instead of adding rows, and the count of distinct learners reads an index range.
    """

    enrollment_id = models.IntegerField(primary_key=True)
    user_id = models.IntegerField()
    run_id = models.IntegerField()
    course_id = models.IntegerField()
    institution_id = models.IntegerField(default=0)
    member_state_id = models.IntegerField(default=0)
    last_active_on = models.DateField()

    class Meta:
        verbose_name = _("learner activity")
        verbose_name_plural = _("learner activity")
        indexes = [
            models.Index(fields=["last_active_on", "user_id"]),
            models.Index(fields=["institution_id", "last_active_on"]),
            models.Index(fields=["member_state_id", "last_active_on"]),
            models.Index(fields=["run_id", "last_active_on"]),
            models.Index(fields=["course_id", "last_active_on"]),
        ]

    def __str__(self) -> str:
        return f"enrolment {self.enrollment_id} on {self.last_active_on}"


class RunTotal(Counters):
    """RunTally summed over the months: the breakdowns by run, course and program of all time
    read one row per run (1,800 at full scale) instead of one per run and month (34,000)."""

    run_id = models.IntegerField(default=0)
    program_id = models.IntegerField(default=0)
    course_id = models.IntegerField(default=0)

    class Meta:
        verbose_name = _("total by course run")
        verbose_name_plural = _("totals by course run")
        constraints = [
            models.UniqueConstraint(
                fields=["run_id", "program_id"], name="dashboards_runtotal_cell"
            )
        ]
        indexes = [
            models.Index(fields=["course_id"]),
            models.Index(fields=["program_id"]),
            models.Index(fields=["mode"]),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id}"


class UserActivity(models.Model):
    """The last day each learner saw activity in any enrolment: "active learners" of the whole
    network is a count(*) on an index range of this (one row per learner), not a count of
    distinct learners over the enrolments' activity."""

    user_id = models.IntegerField(primary_key=True)
    last_active_on = models.DateField()

    class Meta:
        verbose_name = _("learner's last activity")
        verbose_name_plural = _("learners' last activity")
        indexes = [models.Index(fields=["last_active_on"])]

    def __str__(self) -> str:
        return f"learner {self.user_id} on {self.last_active_on}"


class PlaceActivity(models.Model):
    """The last day each learner saw activity among their enrolments in one (member state,
    institution): "active learners" of a country or an institution counts these rows (about one
    per learner) instead of the enrolments' activity (five times as many rows)."""

    member_state_id = models.IntegerField(default=0)
    institution_id = models.IntegerField(default=0)
    user_id = models.IntegerField()
    last_active_on = models.DateField()

    class Meta:
        verbose_name = _("learner's last activity by place")
        verbose_name_plural = _("learners' last activity by place")
        constraints = [
            models.UniqueConstraint(
                fields=["member_state_id", "institution_id", "user_id"],
                name="dashboards_placeactivity_key",
            )
        ]
        indexes = [
            models.Index(fields=["member_state_id", "last_active_on", "user_id"]),
            models.Index(fields=["institution_id", "last_active_on", "user_id"]),
        ]

    def __str__(self) -> str:
        return f"learner {self.user_id} in {self.institution_id} on {self.last_active_on}"


class AttendanceSeen(models.Model):
    """What each attendance record last contributed, so a corrected mark moves the counters by
    the difference instead of counting twice."""

    record_id = models.IntegerField(primary_key=True)
    attended = models.BooleanField()
    expected = models.BooleanField()

    def __str__(self) -> str:
        return f"attendance {self.record_id}"


class MonthlyReport(models.Model):
    """The monthly report for DPS: a PDF and a CSV, generated by Celery beat."""

    month = models.DateField(_("month"), unique=True)
    pdf = models.FileField(_("PDF"), upload_to="dashboards/reports/")
    csv = models.FileField(_("CSV"), upload_to="dashboards/reports/")
    created_at = models.DateTimeField(_("generated at"), auto_now=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}"
