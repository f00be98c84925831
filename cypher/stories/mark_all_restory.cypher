// Marks every story to be rebuilt by the stories step (`storyline stories
// --rebuild`, after STORYLINE_ROUTINE_STORIES changes).
// Parameters: none
// Writes: :Restory on every story
MATCH (st:Story)
SET st:Restory
