// Queues a written batch for detection, in the batch's own transaction: one
// node per batch naming its events, so that nothing committed can miss the
// rules, whatever crashes afterwards. Detection deletes it when the signals
// of its events are written (cypher/rules/mark_detected).
// $id: the batch's id ; $events: [event id]
// Writes: (:Batch {id, queued_at, event_ids})
CREATE (:Batch {id: $id, queued_at: datetime.realtime(), event_ids: $events})
