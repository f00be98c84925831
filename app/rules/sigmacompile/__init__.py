"""The compiler of Sigma rules into `Rule` (the field mapping is documented in `app.rules.sigma`).

`rule` checks a parsed rule's log source and builds the `Rule`; `detection` compiles
its detections and condition into a predicate, on the view fields of `fields` and the
value tests of `values`; `unsupported` says why a rule is not evaluated. Reading
files and reporting unsupported rules is `app.rules.sigma`.
"""
