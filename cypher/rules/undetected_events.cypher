// The batches waiting for detection (:Batch, queued by the writer in the
// batch's own transaction), oldest first, at most $limit of them.
// $limit: how many batches to look at
// Writes: nothing (detection deletes a batch when its signals are written)
MATCH (b:Batch)
WITH b ORDER BY b.queued_at, b.id LIMIT $limit
RETURN b.id AS id, b.event_ids AS event_ids,
       datetime.realtime().epochMillis - b.queued_at.epochMillis AS waited_ms
