// Merges scanners' findings (Trivy) and links each to what it affects: every
// Container whose image is the scanned image, or the Host of a host scan (made
// here when no event named it yet; its events fill it in).
// Order-independent: a finding keeps the properties of its latest scan
// (scanned_at; one without scanned_at never replaces one with it), and a container
// seen later is linked by ingest/link_container_findings.
// $rows: [{id, scanned_at, props: {source, kind, ref, severity, title, target, package,
//          installed_version, fixed_version, url, image, image_id, host}}]
// Writes: (:Finding), (:Finding)-[:AFFECTS]->(:Container|:Host), (:Host)
UNWIND $rows AS row
MERGE (f:Finding {id: row.id})
// the write lock before the read, as in merge_hosts
SET f.id = row.id
WITH f, row,
     CASE WHEN row.scanned_at IS NULL THEN null ELSE datetime(row.scanned_at) END AS scanned
FOREACH (_ IN CASE WHEN f.scanned_at IS NULL OR scanned >= f.scanned_at THEN [1] ELSE [] END |
  SET f = row.props, f.id = row.id, f.scanned_at = coalesce(scanned, f.scanned_at)
)
WITH f
CALL (f) {
  WITH f WHERE f.image IS NOT NULL
  MATCH (c:Container {image: f.image})
  MERGE (f)-[:AFFECTS]->(c)
}
CALL (f) {
  WITH f WHERE f.host IS NOT NULL
  MERGE (h:Host {id: f.host})
  MERGE (f)-[:AFFECTS]->(h)
}
