"""A static cost limit for GraphQL documents, checked before anything runs.

Depth, alias and token limits do not stop `stories(first: 200) { edges { node {
graph { ... } } } }`: two hundred investigation graphs in one request. The cost
of a document is the sum over its fields of the field's own weight times the
page sizes of the lists around it, with `first` read from the arguments (or
the variables, or the field's default). A document over MAX_COST is refused
with the cost it would have had.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension

from app.investigation.paging import MAX_PAGE

MAX_COST = 50_000

# what one occurrence of a field costs beyond 1: building a whole investigation graph,
# or an incident report (its signals, processes and indicators)
WEIGHT = {"graph": 1000, "report": 1000}
# how many items a list without `first` holds at most (or as estimated)
# (a connection's `edges` cost nothing more: its `first` already counts them)
LIST_SIZE = {
    "descendants": 1000,
    "ancestors": 100,
    "signals": 10,
    "triageHistory": 20,
    "explain": 10,
    "contexts": 6,
    "actions": 20,
    "approvals": 20,
    "history": 20,
    "sample": 20,
    "affectedStories": 50,
    "suppressedBy": 5,
    "related": 20,
}
# connections: their `first` default when the document gives none
FIRST_DEFAULT = {"stories": 20, "events": 50, "timeline": 50, "children": 50, "indicators": 50,
                 "exceptions": 20, "suppressedSignals": 20}  # fmt: skip


def document_cost(document: DocumentNode, variables: dict[str, Any] | None) -> int:
    """Returns the cost of a document's operations (their sum)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            defaults = {
                v.variable.name.value: value_from_ast_untyped(v.default_value)
                for v in definition.variable_definitions or ()
                if v.default_value is not None
            }
            values = {**defaults, **(variables or {})}
            total += _selection_cost(definition.selection_set, values, fragments, set())
    return total


def _fields(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> Iterator[FieldNode]:
    for selection in selection_set.selections if selection_set else ():
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:  # a cycle is a validation error
                yield from _fields(fragments[name].selection_set, fragments, seen | {name})


def _first(field: FieldNode, variables: dict[str, Any]) -> int:
    name = field.name.value
    for argument in field.arguments or ():
        if argument.name.value == "first":
            if isinstance(argument.value, VariableNode):
                value = variables.get(argument.value.name.value, MAX_PAGE)
            else:
                value = value_from_ast_untyped(argument.value)
            return value if isinstance(value, int) and value > 0 else MAX_PAGE
    return FIRST_DEFAULT[name]


def _selection_cost(
    selection_set: SelectionSetNode | None,
    variables: dict[str, Any],
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> int:
    total = 0
    for field in _fields(selection_set, fragments, seen):
        name = field.name.value
        own = 1 + WEIGHT.get(name, 0)
        size = _first(field, variables) if name in FIRST_DEFAULT else LIST_SIZE.get(name, 1)
        total += own + size * _selection_cost(field.selection_set, variables, fragments, seen)
    return total


# Validation depends on the document's text only (not its variables), and costs
# as much as running a small query: verdicts of recent documents are kept.
_VERDICTS: OrderedDict[str, list[GraphQLError]] = OrderedDict()
_VERDICTS_KEPT = 512


class QueryCostLimiter(SchemaExtension):
    """Refuses documents whose cost passes MAX_COST (checked with validation)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and context.pre_execution_errors is None:
            from strawberry.schema.schema import validate_document

            text = context.query or ""
            errors = _VERDICTS.get(text)
            if errors is None:
                errors = validate_document(
                    context.schema._schema, document, context.validation_rules
                )
                _VERDICTS[text] = errors
                if len(_VERDICTS) > _VERDICTS_KEPT:
                    _VERDICTS.popitem(last=False)
            else:
                _VERDICTS.move_to_end(text)
            errors = list(errors)
            if not errors:
                cost = document_cost(document, context.variables)
                if cost > MAX_COST:
                    errors = [
                        GraphQLError(
                            f"query cost {cost} passes the limit of {MAX_COST}: ask for fewer "
                            "items per page, or fewer graphs and timelines at once"
                        )
                    ]
            context.pre_execution_errors = errors
        yield
