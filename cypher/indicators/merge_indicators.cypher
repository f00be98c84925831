// Writes one batch of a feed's indicators: each merged by id and listed FROM the feed
// with this import's details; `import` marks the listings this import renewed.
// $feed: the feed's name; $import_id: this import's id
// $rows: [{id, type, value, lookups, description, valid_until, tactic, technique, ref}]
// Writes: (:Feed), (:Indicator), (:Indicator)-[:FROM]->(:Feed)
MERGE (f:Feed {name: $feed})
WITH f
UNWIND $rows AS row
MERGE (i:Indicator {id: row.id})
SET i.type = row.type, i.value = row.value, i.lookups = row.lookups
MERGE (i)-[r:FROM]->(f)
SET r.import = $import_id, r.description = row.description,
    r.valid_until = CASE WHEN row.valid_until IS NULL THEN null ELSE datetime(row.valid_until) END,
    r.tactic = row.tactic, r.technique = row.technique, r.ref = row.ref
