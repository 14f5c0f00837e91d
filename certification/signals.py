"""Signals of the certification app: the documented contract with the apps above it.

Both are sent after the transaction commits (through transaction.on_commit), once per event;
receivers (dashboards) connect in their AppConfig.ready().

- certificates_issued(sender=Certificate, certificates): certificates were issued, all those
  one transaction issued together: one for a single issue, up to a batch (50) in bulk. Course
  or program certificates, or renewals through a refresher course (`certificate.renewal_of`).
  Each certificate is in exactly one send.
- certificate_revoked(sender=Certificate, certificate): a certificate was revoked;
  `certificate.revocation_reason` says why.
- certificate_issued(sender=Certificate, certificate): the former one-certificate signal of
  issuing, no longer sent since issuing works in batches (connect to certificates_issued); kept
  so that receivers connected to it do not fail at start.
"""

from django.dispatch import Signal

certificates_issued = Signal()
certificate_revoked = Signal()
certificate_issued = Signal()
