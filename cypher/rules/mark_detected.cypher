// Ends a detection step, in the transaction that wrote its signals: the events
// it matched leave the detection queue, unless the writer changed them since
// they were read (another digest: they stay queued and are matched again), and
// so do the relinked processes whose events it matched again. Returns how long
// each event waited in the queue (the stage lag, in milliseconds).
// $events: [{id, digest}] ; $relinked: [process key]
// Writes: removes :Undetected and _queued, :Relinked
CALL () {
  UNWIND $relinked AS key
  MATCH (p:Process {key: key})
  REMOVE p:Relinked
}
UNWIND $events AS row
MATCH (e:Event {id: row.id})
WHERE e:Undetected AND e.digest = row.digest
WITH e, datetime.realtime().epochMillis - e._queued.epochMillis AS lag
REMOVE e:Undetected, e._queued
RETURN collect(lag) AS lags
