// Ends a detection step, in the transaction that wrote its signals: the
// batches it matched leave the detection queue, and so do the relinked
// processes whose events it matched again.
// $batches: [batch id] ; $relinked: [process key]
// Writes: deletes (:Batch), removes :Relinked
CALL () {
  UNWIND $relinked AS key
  MATCH (p:Process {key: key})
  REMOVE p:Relinked
}
UNWIND $batches AS id
MATCH (b:Batch {id: id})
DELETE b
