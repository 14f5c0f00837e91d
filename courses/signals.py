"""Signals of the courses app: the documented contract with the apps above it.

Receivers are connected in the listening app's AppConfig.ready(). Unless said otherwise they run
after the transaction commits (courses.services sends them through transaction.on_commit).

- enrollment_changed(sender, enrollment, from_status, to_status): an enrolment was created or
  changed state.
- enrollments_changed(sender, changes): many enrolments made or reopened at once (a
  coordinator's bulk enrolment); `changes` lists (enrollment, from_status, to_status). Sent
  instead of one enrollment_changed each, so that a receiver can do its work once for all.
- lesson_completed(sender, enrollment, lesson): a learner completed a lesson.
- course_completed(sender, enrollment): an enrolment met its completion rules; fired once.
- courses_completed(sender, enrollments): many enrolments met their rules together (a run's
  released grades, an attendance sheet); sent instead of one course_completed each, so that a
  receiver can queue or announce them together.
- attendance_recorded(sender, session, records): attendance was taken for a session.

Sent inside the transaction:

- lesson_completed_in_transaction(sender, enrollment, lesson): the same event as
  lesson_completed, sent inside the transaction that recorded it, with the enrolment row
  locked. For receivers that only write to the database and should commit (or roll back) with
  the progress: dashboards' activity dates, one statement added to the player's first view
  instead of a transaction of their own after it. A receiver that raises rolls the visit back;
  anything slow or outside the database (mail, live updates) belongs on lesson_completed.
- lessons_completed_in_transaction(sender, completions): the same for many at once (a run's
  released grades, a batch of xAPI results), `completions` a list of (enrollment, lesson); sent
  instead of one lesson_completed_in_transaction each (lesson_completed is still sent for each).
"""

from django.dispatch import Signal

enrollment_changed = Signal()
enrollments_changed = Signal()
lesson_completed = Signal()
lesson_completed_in_transaction = Signal()
lessons_completed_in_transaction = Signal()
course_completed = Signal()
courses_completed = Signal()
attendance_recorded = Signal()

# course_version_created(sender, course, version, previous): a new version of a course was made
# (for example because an accredited or started version was edited). Accreditation listens to
# flag the course for re-review.
course_version_created = Signal()
