"""A Sigma rule's detections and condition compiled into one predicate over the view."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sigma.conditions import (
    ConditionAND,
    ConditionIdentifier,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
)
from sigma.exceptions import SigmaError
from sigma.modifiers import (
    SigmaBase64Modifier,
    SigmaBase64OffsetModifier,
    SigmaCaseSensitiveModifier,
    SigmaExpandModifier,
    SigmaModifier,
    SigmaTimestampModifier,
    SigmaUTF16BEModifier,
    SigmaUTF16Modifier,
    SigmaWideModifier,
    reverse_modifier_mapping,
)
from sigma.rule import SigmaDetection, SigmaDetectionItem, SigmaDetections
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from app.rules.model import Predicate, View
from app.rules.sigmacompile.fields import FIELDS, KEYWORD_FIELDS, Getter, section_field
from app.rules.sigmacompile.unsupported import Unsupported, message
from app.rules.sigmacompile.values import (
    Test,
    as_text,
    compares,
    equals_boolean,
    equals_number,
    in_cidr,
    never,
    regex_search,
    string_match,
)

Check = Callable[[Any, View], bool]  # a Test with the view (a fieldref reads a second field)

_UNSUPPORTED_MODIFIERS: dict[type[SigmaModifier[Any, Any]], str] = {
    SigmaExpandModifier: "placeholders need a processing pipeline",
}
_TEXT_ENCODERS = (SigmaWideModifier, SigmaUTF16Modifier, SigmaUTF16BEModifier)
_BASE64 = (SigmaBase64Modifier, SigmaBase64OffsetModifier)


class Compiler:
    """Compiles one rule's detections and condition into a predicate over views."""

    def __init__(self, detections: SigmaDetections, category: str) -> None:
        self.detections = detections
        self.category = category
        self.fields = FIELDS[category]
        self.problems: list[str] = []
        self.compiled: dict[str, Predicate] = {}

    def rule_predicate(self) -> Predicate:
        conditions = []
        for condition in self.detections.parsed_condition:
            try:
                condition.parsed  # noqa: B018 - resolves identifiers, raises on errors
                tree = condition.parse(postprocess=False)
            except SigmaError as exc:
                raise Unsupported(f"condition error: {message(exc)}") from None
            conditions.append(self.condition(tree))
        if self.problems:
            raise Unsupported("; ".join(dict.fromkeys(self.problems)))
        return _any(conditions)

    def condition(self, node: Any) -> Predicate:
        if isinstance(node, ConditionIdentifier):
            return self.detection(node.identifier)
        if isinstance(node, ConditionSelector):
            names = [i.identifier for i in node.resolve_referenced_detections(self.detections)]
            preds = [self.detection(name) for name in names]
            return _all(preds) if node.cond_class is ConditionAND else _any(preds)
        if isinstance(node, ConditionNOT):
            return _not(self.condition(node.args[0]))
        if isinstance(node, ConditionAND):
            return _all([self.condition(a) for a in node.args])
        if isinstance(node, ConditionOR):
            return _any([self.condition(a) for a in node.args])
        kind = type(node).__name__ if isinstance(node, ConditionItem) else repr(node)
        raise Unsupported(f"condition element {kind} is not evaluated")

    def detection(self, name: str) -> Predicate:
        if name not in self.compiled:
            self.compiled[name] = self.definition(self.detections[name])
        return self.compiled[name]

    def definition(self, detection: SigmaDetection) -> Predicate:
        preds = [
            self.definition(item) if isinstance(item, SigmaDetection) else self.item(item)
            for item in detection.detection_items
        ]
        return _all(preds) if detection.item_linking is ConditionAND else _any(preds)

    def item(self, item: SigmaDetectionItem) -> Predicate:
        modifiers = list(item.modifiers)
        for i, modifier in enumerate(modifiers):
            name = reverse_modifier_mapping.get(modifier.__name__, modifier.__name__)
            if modifier in _UNSUPPORTED_MODIFIERS:
                self.problems.append(f"modifier {name}: {_UNSUPPORTED_MODIFIERS[modifier]}")
            elif issubclass(modifier, SigmaTimestampModifier):
                self.problems.append(f"modifier {name}: no timestamp field is mapped")
            elif issubclass(modifier, _TEXT_ENCODERS) and not any(
                issubclass(m, _BASE64) for m in modifiers[i + 1 :]
            ):
                self.problems.append(f"modifier {name} without base64: the view holds decoded text")
        cased = any(issubclass(m, (SigmaCaseSensitiveModifier, *_BASE64)) for m in modifiers)
        keyword = item.field is None
        checks = [self.check(v, cased=cased, keyword=keyword) for v in item.value or [SigmaNull()]]
        link = all if item.value_linking is ConditionAND else any

        if keyword:
            getters = [self.fields[f] for f in KEYWORD_FIELDS[self.category]]

            def matches(view: View) -> bool:
                found = [g(view) for g in getters]
                return link(any(c(v, view) for v in found) for c in checks)

        else:
            getter = self.getter(item.field)

            def matches(view: View) -> bool:
                value = getter(view)
                return link(c(value, view) for c in checks)

        return _not(matches) if item.negated else matches

    def check(self, value: SigmaType, *, cased: bool, keyword: bool) -> Check:
        """Compiles one value into a check of a field's value (the view: for fieldref)."""
        if isinstance(value, SigmaFieldReference):
            return self.fieldref(value, cased=cased)
        test = self.value(value, cased=cased, keyword=keyword)
        return lambda v, _view: test(v)

    def getter(self, name: str | None) -> Getter:
        getter = self.fields.get(name or "")
        if getter is None:
            self.problems.append(f"field {name} has no mapping for {self.category}")
            return section_field("event", "")
        return getter

    def value(self, value: SigmaType, *, cased: bool, keyword: bool = False) -> Test:
        if isinstance(value, SigmaExpansion):
            tests = [self.value(v, cased=cased, keyword=keyword) for v in value.values]
            return lambda v: any(t(v) for t in tests)
        if keyword and isinstance(value, SigmaNumber | SigmaBool):
            value = SigmaString(str(value))  # keywords are text searched in text
        if isinstance(value, SigmaString):
            cased = cased or isinstance(value, SigmaCasedString)
            if keyword:  # a keyword is found anywhere in the text
                if not value.startswith(SpecialChars.WILDCARD_MULTI):
                    value = SpecialChars.WILDCARD_MULTI + value
                if not value.endswith(SpecialChars.WILDCARD_MULTI):
                    value = value + SpecialChars.WILDCARD_MULTI
            return string_match(value, cased=cased)
        if isinstance(value, SigmaRegularExpression):
            return regex_search(value)
        if isinstance(value, SigmaTimestampPart):
            return never  # only the time modifiers make these, and item() reported them
        if isinstance(value, SigmaNumber):
            return equals_number(value.number)
        if isinstance(value, SigmaBool):
            return equals_boolean(value.boolean)
        if isinstance(value, SigmaNull):
            return lambda v: v is None
        if isinstance(value, SigmaExists):
            return lambda v: (v is not None) == value.exists
        if isinstance(value, SigmaCIDRExpression):
            return in_cidr(value)
        if isinstance(value, SigmaCompareExpression):
            return compares(value)
        self.problems.append(f"value type {type(value).__name__} is not evaluated")
        return never

    def fieldref(self, value: SigmaFieldReference, *, cased: bool) -> Check:
        other = self.getter(value.field)
        fold: Callable[[str], str] = (lambda s: s) if cased else str.lower

        def check(v: Any, view: View) -> bool:
            mine, theirs = as_text(v), as_text(other(view))
            if mine is None or theirs is None:
                return False
            mine, theirs = fold(mine), fold(theirs)
            if value.starts_with and value.ends_with:
                return theirs in mine
            if value.starts_with:
                return mine.startswith(theirs)
            if value.ends_with:
                return mine.endswith(theirs)
            return mine == theirs

        return check


def _all(preds: Sequence[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    chosen = tuple(preds)
    return lambda view: all(p(view) for p in chosen)


def _any(preds: Sequence[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    chosen = tuple(preds)
    return lambda view: any(p(view) for p in chosen)


def _not(pred: Predicate) -> Predicate:
    return lambda view: not pred(view)
