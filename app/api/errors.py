"""How errors reach a GraphQL client: every error carries `extensions.code`.

A client tells its own mistakes from faults of the service by the code:

| code | when |
|---|---|
| `BAD_USER_INPUT` | an argument is not valid (a page size, a cursor, a format, a note) |
| `GRAPHQL_VALIDATION_FAILED` | the document is not valid against the schema |
| `QUERY_TOO_COMPLEX` | the document passes a depth, alias, token or cost limit |
| `NOT_FOUND` | what the request names does not exist |
| `UNAUTHENTICATED` | no valid token (over HTTP the answer is 401 before GraphQL runs) |
| `FORBIDDEN` | the token lacks the scope, or was revoked (subscriptions) |
| `SERVICE_BUSY` | a limit of the service was reached: retry in a moment |
| `SERVICE_UNAVAILABLE` | Neo4j does not answer: retry later |
| `INTERNAL_SERVER_ERROR` | anything else: a fault of the service |
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from app.api.auth import Forbidden
from app.errors import Busy, DatabaseUnavailable, InputError, NotFound

_BY_TYPE: tuple[tuple[type[BaseException], str], ...] = (
    (InputError, "BAD_USER_INPUT"),
    (NotFound, "NOT_FOUND"),
    (Busy, "SERVICE_BUSY"),
    (DatabaseUnavailable, "SERVICE_UNAVAILABLE"),
    (Forbidden, "FORBIDDEN"),
    (PermissionError, "FORBIDDEN"),
)
# the limiters' own messages (strawberry's depth, alias and token limiters, ours for cost)
_LIMITS = ("query cost", "exceeds maximum", "aliases found", "depth", "token")


def code_of(error: GraphQLError) -> str:
    """Returns the code of one GraphQL error."""
    if error.extensions and "code" in error.extensions:
        return str(error.extensions["code"])
    original = error.original_error
    if original is None:
        message = error.message.lower()
        if any(word in message for word in _LIMITS):
            return "QUERY_TOO_COMPLEX"
        return "GRAPHQL_VALIDATION_FAILED"
    for kind, code in _BY_TYPE:
        if isinstance(original, kind):
            return code
    if type(original).__name__ == "PermissionError" or "lacks the" in str(original):
        return "FORBIDDEN"
    return "INTERNAL_SERVER_ERROR"


def _coded(error: GraphQLError) -> GraphQLError:
    extensions = {**(error.extensions or {}), "code": code_of(error)}
    error.extensions = extensions
    return error


class ErrorCodes(SchemaExtension):
    """Gives every error of a result (and of validation) its `extensions.code`."""

    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        for error in context.pre_execution_errors or ():
            _coded(error)
        result = context.result
        if result is not None:
            for error in getattr(result, "errors", None) or ():
                _coded(error)
