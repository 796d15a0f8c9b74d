"""Secrets sealed at rest: the bot tokens of OAuth installations, encrypted with Fernet.

`ORCHESTRA_ENCRYPTION_KEY` holds one or more Fernet keys, comma-separated (MultiFernet):
the first seals, every one of them opens. Rotation: put a new key first, keep the old one
after it until every row has been sealed again (a reinstall, or `Sealer.reseal`)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "Sealer", "keys_problem"]


def _keys(text: str) -> list[Fernet]:
    """The Fernet keys of a comma-separated list (ValueError: one is not a Fernet key)."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError("no key")
    return [Fernet(part.encode()) for part in parts]


def keys_problem(text: str) -> str | None:
    """What is wrong with a key list, in words that never repeat the keys; None if nothing."""
    try:
        _keys(text)
    except (ValueError, TypeError):
        return (
            "must be one or more Fernet keys, comma-separated (32 url-safe base64-encoded "
            "bytes each; make one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        )
    return None


class Sealer:
    """Seals and opens text with the configured keys (the first seals, all open)."""

    def __init__(self, keys: str) -> None:
        self._fernet = MultiFernet(_keys(keys))

    def seal(self, secret: str) -> str:
        """`secret` encrypted and authenticated, as text for a database column."""
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret back; InvalidToken when no configured key sealed it (or it was altered)."""
        return self._fernet.decrypt(sealed.encode("ascii")).decode()

    def reseal(self, sealed: str) -> str:
        """The same secret sealed again with the first key (after a key rotation)."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")
