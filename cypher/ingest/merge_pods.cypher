// Merges pods seen in a batch, keyed by uid (or cluster/namespace/name).
// Order-independent: each property keeps the greatest non-null value seen.
// $rows: [{uid, name, namespace, cluster, workload, first_seen, last_seen}]
// Writes: (:Pod)
UNWIND $rows AS row
MERGE (p:Pod {uid: row.uid})
// the write lock before the read, as in merge_hosts
SET p.uid = row.uid
WITH p, row
SET p.name = CASE WHEN p.name IS NULL OR row.name > p.name THEN row.name ELSE p.name END,
    p.namespace = CASE WHEN p.namespace IS NULL OR row.namespace > p.namespace
                       THEN row.namespace ELSE p.namespace END,
    p.cluster = CASE WHEN row.cluster IS NOT NULL AND (p.cluster IS NULL OR row.cluster > p.cluster)
                     THEN row.cluster ELSE p.cluster END,
    p.workload = CASE WHEN row.workload IS NOT NULL AND (p.workload IS NULL OR row.workload > p.workload)
                      THEN row.workload ELSE p.workload END,
    p.first_seen = CASE WHEN p.first_seen IS NULL OR datetime(row.first_seen) < p.first_seen
                        THEN datetime(row.first_seen) ELSE p.first_seen END,
    p.last_seen = CASE WHEN p.last_seen IS NULL OR datetime(row.last_seen) > p.last_seen
                       THEN datetime(row.last_seen) ELSE p.last_seen END
