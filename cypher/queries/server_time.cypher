// The database server's clock, which stamps Story.updated_at: subscriptions
// start from it, so that app and database clocks never need to agree.
// Parameters: none
// Writes: nothing
RETURN toString(datetime()) AS now
