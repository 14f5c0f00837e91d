"""Accreditation of courses by partner universities."""
