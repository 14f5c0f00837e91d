"""Signals of the certification app: the documented contract with the apps above it.

Both are sent after the transaction commits (through transaction.on_commit), once per event;
receivers (dashboards) connect in their AppConfig.ready().

- certificate_issued(sender=Certificate, certificate): a certificate was issued (a course or a
  program certificate, or a renewal through a refresher course: `certificate.renewal_of`).
- certificate_revoked(sender=Certificate, certificate): a certificate was revoked;
  `certificate.revocation_reason` says why.
"""

from django.dispatch import Signal

certificate_issued = Signal()
certificate_revoked = Signal()
