// How many signals of each story's correlation keys are suppressed.
// $stories: [{id: story id, keys: [correlation key]}]
// Writes: nothing
UNWIND $stories AS story
CALL (story) {
  UNWIND story.keys AS key
  MATCH (s:Signal {correlation_key: key})
  WHERE s.suppressed
  RETURN count(s) AS suppressed
}
RETURN story.id AS id, suppressed
