"""Signals of the LRS, the documented contract with the apps above it.

statements_stored(sender, statements: list[dict]) is sent after the transaction that stored
statements received from outside the platform (launched content, an institution's system) commits;
`statements` are the statements as stored. Courses listens to update lesson progress. Statements
the platform emits itself (lms.xapi.emit) do not send it: the emitting app already knows.
"""

from django.dispatch import Signal

statements_stored = Signal()
