// Whether any stored signal is of a rule (a sensor's rule is known only by its signals).
// $rule: rule id
// Writes: nothing
RETURN EXISTS { MATCH (s:Signal) WHERE s.rule_id = $rule } AS known
