"""Verification codes: short, human-typable, random (Crockford base32), never sequential."""

from __future__ import annotations

import secrets

# Crockford's base32: no I, L, O or U, so a code read aloud or typed by hand is not mistaken.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 60 random bits: enumerating them at the rate limit would take forever.
_READ_AS = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_code() -> str:
    """A fresh random code of CODE_LENGTH Crockford base32 characters."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """What the person meant: upper case, without spaces or hyphens, look-alike letters mapped."""
    cleaned = "".join(ch for ch in typed.upper() if ch.isalnum())
    return cleaned.translate(_READ_AS)


def is_well_formed(code: str) -> bool:
    return len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code)


def display_code(code: str) -> str:
    """The code in groups of four, as printed: 7K3M-Q9TX-2B8R."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))
