"""The one exception tree of Storyline.

    StorylineError
    ├── ConfigError            a setting is missing or malformed
    ├── LauncherError          the local Neo4j cannot be fetched, started or stopped
    │   ├── JavaNotFound       no Java 17 or 21 to run Neo4j 5.26 with
    │   ├── FetchFailed        a server jar could not be downloaded or did not verify
    │   └── PortInUse          a port the server needs is taken by another process
    ├── DatabaseError          Neo4j answered with an error or not at all
    │   └── DatabaseUnavailable    Neo4j did not answer (down, restarting, unreachable)
    │       └── DatabaseBusy       Neo4j kept failing a transaction with a transient
    │                              error (deadlocks, lock waits) past the retries
    ├── CypherFileError        a cypher/ file is missing
    ├── RuleError              a rule file is malformed (app/rules/yamlrules.py)
    ├── NotFound               what a request names does not exist
    │   ├── StoryNotFound      no story has that id (app/rules/stories.py)
    │   └── ExceptionNotFound  no exception has that id (app/investigation/exceptions.py)
    ├── Busy                   the service is at a limit: retry in a moment
    └── InputError             a request, an argument or a file is not valid
        ├── PayloadTooLarge    a request body is over the configured limit
        ├── TriageError        a triage change is not valid (app/rules/stories.py)
        └── ExceptionError     an exception or a change to one is not valid
                               (app/investigation/exceptions.py)

Each kind reaches a GraphQL client as `extensions.code` (app/api/errors.py).

Record-level problems (one bad event in a batch) are not exceptions: they are
reported as rejections beside the accepted records, so that nothing else is lost.
"""


class StorylineError(Exception):
    """Root of every error Storyline raises on purpose."""


class ConfigError(StorylineError):
    """A setting is missing or malformed."""


class LauncherError(StorylineError):
    """The local Neo4j cannot be fetched, started or stopped."""


class JavaNotFound(LauncherError):
    """No Java 17 or 21 was found to run Neo4j 5.26."""


class FetchFailed(LauncherError):
    """A Neo4j server jar could not be downloaded, or did not match the manifest."""


class PortInUse(LauncherError):
    """A port the local Neo4j needs is taken by another process."""


class DatabaseError(StorylineError):
    """Neo4j answered with an error, or did not answer."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class DatabaseUnavailable(DatabaseError):
    """Neo4j did not answer: down, restarting or unreachable. Retry later."""


class DatabaseBusy(DatabaseUnavailable):
    """Neo4j answered, but failed a transaction with a transient error (a deadlock, a
    lock it could not get) each time it was tried, for the whole retry budget. Nothing
    of it was written; the same request later most likely succeeds."""


class CypherFileError(StorylineError):
    """A named cypher/ file does not exist."""


class InputError(StorylineError):
    """A request, an argument or an input file is not valid."""


class NotFound(StorylineError):
    """What a request names does not exist."""


class Busy(StorylineError):
    """The service is at one of its limits; the same request may succeed in a moment."""


class PayloadTooLarge(InputError):
    """A request body is over the configured limit."""
