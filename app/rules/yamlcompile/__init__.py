"""The compiler of Storyline's YAML rule format (documented in `app.rules.yamlrules`).

`rule` checks a rule's keys and builds the `Rule`; `conditions` compiles its `match`
into a predicate over the event view, on the field paths and modifiers of `fields`;
`context` holds `RuleError` and the context its messages are made from. Reading and
loading rule files is `app.rules.yamlrules`; action templates are `app.rules.actions`.
"""
