"""Why a Sigma rule is not evaluated: the exception that says so, and pySigma's messages."""

from __future__ import annotations

from collections.abc import Sequence


class Unsupported(Exception):  # internal: never leaves app.rules.sigma
    """A rule cannot be evaluated; the message says why."""


def message(exc: BaseException) -> str:
    return str(exc.args[0]) if exc.args else type(exc).__name__


def messages(errors: Sequence[BaseException]) -> str:
    return "; ".join(dict.fromkeys(message(e) for e in errors))
