"""Sigma rules for Linux `process_creation`, `network_connection` and `file_event`.

`load_sigma(paths)` reads Sigma rule files (a directory: every `*.yml` under
it), lets pySigma parse them, and compiles each rule's detection into a
`Rule` whose predicate matches the event view of `app.rules.model`. Every rule
read ends up in exactly one of `SigmaLoad.rules` (it evaluates) or
`SigmaLoad.unsupported` (it does not, with the reason); unsupported rules are
also logged as warnings when they are loaded. Nothing is skipped in silence.

A rule becomes `Rule(id="sigma.<Sigma id>", source="sigma:<file name>")`; its
severity is the Sigma `level` (informational -> info; no level -> medium), its
tactic and technique come from the `attack.*` tags (`attack.command-and-control`
-> command_and_control, `attack.t1059.004` -> T1059.004; the first of each), its
description ends with the rule's author, as the Detection Rule License asks.

Field mapping (a public contract: rules written against it must keep working)
-----------------------------------------------------------------------------

Process fields are available in all three categories, since the view carries
the acting process of every event (Sysmon ships them with process creation
only):

| Sigma field         | view                 | note                                    |
|---------------------|----------------------|-----------------------------------------|
| `Image`             | `process.exe`        |                                         |
| `CommandLine`       | `process.cmdline`    | argv joined by spaces                   |
| `CurrentDirectory`  | `process.cwd`        |                                         |
| `User`              | `process.user`       | a user name                             |
| `LogonId`           | `process.uid`        | what Sysmon for Linux writes there      |
| `ProcessId`         | `process.pid`        |                                         |
| `ParentProcessId`   | `process.ppid`       |                                         |
| `TerminalSessionId` | `process.session_id` | the audit session id                    |
| `ParentImage`       | `parent.exe`         |                                         |
| `ParentCommandLine` | `parent.cmdline`     |                                         |
| `ParentUser`        | `parent.user`        |                                         |

`network_connection` (event kinds network_connect, network_accept) adds the
fields below. Sigma's source is the end that initiated the connection, while
the view's `src` is always the acting process's own end, so on an accept the
two ends swap:

| Sigma field         | view on connect      | view on accept                          |
|---------------------|----------------------|-----------------------------------------|
| `Initiated`         | 'true'               | 'false'                                 |
| `SourceIp`          | `event.src_ip`       | `event.dst_ip`                          |
| `SourcePort`        | `event.src_port`     | `event.dst_port`                        |
| `DestinationIp`     | `event.dst_ip`       | `event.src_ip`                          |
| `DestinationPort`   | `event.dst_port`     | `event.src_port`                        |
| `SourceIsIpv6`      | 'true' when the source address has a ':' (else from `event.family`) |
| `DestinationIsIpv6` | the same for the destination address                           |
| `Protocol`          | `event.protocol` (tcp, udp, ...)                               |

`file_event` (event kinds file_create, file_write, file_rename) adds:

| Sigma field         | view                                                           |
|---------------------|----------------------------------------------------------------|
| `TargetFilename`    | `event.path`; on a rename `event.target_path`, the new name    |

Any other field has no mapping: `DestinationHostname`, `SourceHostname` (a
network event carries no host name), the PE metadata of Windows
(`OriginalFileName`, `Product`, `Description`, `Company`, `FileVersion`),
`Hashes`, `IntegrityLevel`, `LogonGuid`, `ProcessGuid`, ... A rule that uses
one, anywhere in its condition, is unsupported: treating the missing field as
"no match" would silently drop an OR branch, and under a `not` would turn a
filter off and make the rule fire on everything it was meant to exclude.
Field names are matched exactly (case-sensitive), as the Sigma taxonomy spells them.

No Sigma field maps to a list of the view: `process.args` is read through
`CommandLine`. Keywords (values without a field) are searched, as with
`contains`, in `CommandLine` and, for `file_event`, in `TargetFilename`.

Matching
--------

- Strings match case-insensitively, `*` and `?` are wildcards, `\\` escapes
  them (Sigma's defaults). `cased` makes a value case-sensitive; so are values
  made by `base64`/`base64offset`, since base64 text is case-significant.
- A number matches numerically when the field is a number (or a numeric
  string), else as a string; a string value matches a number field by its
  decimal text (`DestinationPort: '4444'`). Booleans read 'true'/'false'.
- A null value (`Field: null`) matches a missing field (None in the view);
  any other value never matches a missing field, so `not` of it is true.
  `exists: true` means the value is not None.
- `re` searches anywhere in the value (like `grep`, not anchored: SigmaHQ's
  rules are written so, e.g. `CommandLine|re: '-D'`); case-sensitive unless the
  `i` flag is given. Regular expressions run on RE2, as pySigma validates them.
- A list of values is an OR; with `all`, an AND.
- Several conditions (a list under `condition`) are ORed.
- Sigma filters (`filter:` documents) among the loaded files are applied to the
  rules they select, as pySigma does.

Supported modifiers: contains, startswith, endswith, all, cased, neq, exists,
windash, re (with i/ignorecase, m/multiline, s/dotall), cidr (IPv4 and IPv6; an
IPv4-mapped IPv6 address counts as IPv4), base64, base64offset (both also after
wide/utf16/utf16be), gt, gte, lt, lte, fieldref (against another mapped field).

Unsupported, and reported: expand (placeholders need a processing pipeline),
the time modifiers minute/hour/day/week/month/year (no timestamp field is
mapped), wide/utf16/utf16be not followed by a base64 modifier (the view holds
decoded text), correlation rules (they count events over time), other log
sources, and any error pySigma reports while parsing.

The code: this module reads rule files and reports the rules it cannot evaluate;
`app.rules.sigmacompile` compiles the others (`rule`, `detection`, `fields`, `values`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaRule

from app.errors import InputError
from app.rules.model import Rule
from app.rules.sigmacompile.fields import FIELDS, KEYWORD_FIELDS, KINDS
from app.rules.sigmacompile.rule import ACTIONS, compile_rule
from app.rules.sigmacompile.unsupported import Unsupported, message, messages

__all__ = ["ACTIONS", "FIELDS", "KEYWORD_FIELDS", "KINDS", "SigmaLoad", "load_sigma"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SigmaLoad:
    """The rules that evaluate, and the ones that do not with the reason why."""

    rules: list[Rule] = field(default_factory=list)
    unsupported: list[tuple[str, str]] = field(default_factory=list)  # (file[#n], reason)


def load_sigma(paths: Iterable[Path]) -> SigmaLoad:
    """Loads Sigma rule files and directories (every *.yml under them) into rules."""
    loaded = SigmaLoad()
    found: list[tuple[Path, int | None, SigmaRule | SigmaCorrelationRule]] = []
    filters: list[SigmaFilter] = []
    for path in _rule_files(paths):
        collection = _parse(path, loaded)
        if collection is None:
            continue
        several = len(collection.rules) > 1
        for n, rule in enumerate(collection.rules, start=1):
            found.append((path, n if several else None, rule))
        for sigma_filter in collection.filters:
            if sigma_filter.errors:
                _reject(loaded, str(path), f"filter: {messages(sigma_filter.errors)}")
            else:
                filters.append(sigma_filter)
        if not (collection.rules or collection.filters or collection.errors):
            _reject(loaded, str(path), "no Sigma rule in the file")
    ids: dict[str, str] = {}
    for path, number, sigma_rule in found:
        label = str(path) if number is None else f"{path}#{number}"
        try:
            compiled = compile_rule(_filtered(sigma_rule, filters), path, number)
        except Unsupported as exc:
            _reject(loaded, label, str(exc))
            continue
        if compiled.id in ids:
            _reject(loaded, label, f"duplicate rule id {compiled.id} (also in {ids[compiled.id]})")
            continue
        ids[compiled.id] = label
        loaded.rules.append(compiled)
    return loaded


def _rule_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files += sorted(p for p in path.rglob("*.yml") if p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"no Sigma rule file or directory at {path}")
    return files


def _parse(path: Path, loaded: SigmaLoad) -> SigmaCollection | None:
    """Parses one file; reports it and returns None when it cannot be read at all."""
    try:
        text = path.read_text(encoding="utf-8")
        collection = SigmaCollection.from_yaml(
            text,
            collect_errors=True,
            source=SigmaRuleLocation(path),
            collect_filters=True,
            resolve_references=False,
        )
    except OSError as exc:
        _reject(loaded, str(path), f"unreadable: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError:
        _reject(loaded, str(path), "unreadable: not UTF-8")
        return None
    except yaml.YAMLError as exc:
        _reject(loaded, str(path), f"parse error: not YAML ({_first_line(exc)})")
        return None
    except SigmaError as exc:
        _reject(loaded, str(path), f"parse error: {message(exc)}")
        return None
    except (AttributeError, TypeError, KeyError) as exc:
        # pySigma reads a document that is not a mapping by calling .get() on it
        _reject(loaded, str(path), f"parse error: not a Sigma document ({exc})")
        return None
    # the collection repeats its rules' errors, which are reported with each rule
    own = {id(e) for r in [*collection.rules, *collection.filters] for e in r.errors}
    file_errors = [e for e in collection.errors if id(e) not in own]
    if file_errors:
        _reject(loaded, str(path), f"parse error: {messages(file_errors)}")
    return collection


def _filtered(
    rule: SigmaRule | SigmaCorrelationRule, filters: Sequence[SigmaFilter]
) -> SigmaRule | SigmaCorrelationRule:
    if not filters or not isinstance(rule, SigmaRule) or rule.errors:
        return rule
    try:
        applied: SigmaRule | SigmaCorrelationRule = rule
        for sigma_filter in filters:
            if not isinstance(applied, SigmaRule):
                break
            applied = sigma_filter.apply_on_rule(applied)
        return applied
    except SigmaError as exc:
        raise Unsupported(f"a filter does not apply: {message(exc)}") from None


def _reject(loaded: SigmaLoad, label: str, reason: str) -> None:
    log.warning("Sigma rule %s not evaluated: %s", label, reason)
    loaded.unsupported.append((label, reason))


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
