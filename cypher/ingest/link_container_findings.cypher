// Links the batch's containers to the findings on their image, so that a
// container seen after its image was scanned is linked as one seen before; drops
// the links to findings on an image the container no longer has.
// $rows: [{id, image, ...}] (the batch's container rows; the graph's image is used)
// Writes: (:Finding)-[:AFFECTS]->(:Container)
UNWIND $rows AS row
MATCH (c:Container {id: row.id})
CALL (c) {
  MATCH (old:Finding)-[r:AFFECTS]->(c)
  WHERE old.image <> c.image
  DELETE r
}
CALL (c) {
  MATCH (f:Finding {image: c.image})
  MERGE (f)-[:AFFECTS]->(c)
}
