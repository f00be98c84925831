// What an approval needs of a story: the facts sent with an approved action and the
// story's typed actions (response_actions: JSON {id, type, target, text}).
// $id: story id
// Writes: nothing
MATCH (st:Story {id: $id})
RETURN st {.id, .title, .severity, .summary, .status, .hosts, .response_actions,
           first_seen: toString(st.first_seen), last_seen: toString(st.last_seen)} AS story
