"""Indicators of compromise: known-bad IP addresses, domains and file hashes from feeds.

    feed file (STIX 2.1 bundle or CSV)
      -> feeds.py: parsed into entries, every bad object or line a per-entry error
      -> imports.py: (:Indicator)-[:FROM]->(:Feed), the feed's old entries dropped,
         then the stored events re-checked through the entity nodes they touched
    detection (app/rules/signals.py), on every queued batch
      -> matching.py: the batch's addresses, names and hashes (values.py) looked up
         at once; a match is a Signal named after its feed, (Signal)-[:MATCHED]->(Indicator)
    app/investigation/related.py: stories whose processes touched the same indicator

The forward path (new events) and the re-check (stored events) run the same
matcher on the same event properties, so the signals do not depend on whether
the feed or the events came first.
"""
