// Stamping step 7: the frontier is stamped; it leaves the queue.
// Parameters: none. Writes: removes :Frontier, :Unstamped and p.stamp_parent
MATCH (p:Frontier)
REMOVE p:Frontier:Unstamped, p.stamp_parent
