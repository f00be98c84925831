// Which of a batch's events are in the graph already (stored, or a placeholder a
// signal made): they take the full merge (merge_events); the others are created
// (create_events).
// $ids: [event id]
// Reads only.
UNWIND $ids AS id
MATCH (e:Event {id: id})
RETURN collect(id) AS existing
