// Stamping, when a round finds no frontier: how many processes still wait,
// and the smallest key among them (the app takes it as a root to break a cycle).
// Parameters: none. Writes: nothing
MATCH (p:Unstamped)
RETURN count(p) AS waiting, min(p.key) AS smallest
