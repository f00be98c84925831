// Exceptions by id, with their status as of now (an active one past its expiry
// reads expired before the screen step records it) and how many signals they
// suppress (the exception's degree: only signals link SUPPRESSED_BY).
// $ids: [exception id]
// Writes: nothing
UNWIND $ids AS id
MATCH (x:RuleException {id: id})
RETURN x {.id, .rule_id, .process, .user, .host, .container, .image, .path, .owner, .reason,
          .created_by, .revoked_by,
          status: CASE WHEN x.status = 'active' AND x.expires_at <= datetime() THEN 'expired'
                  ELSE x.status END,
          expires_at: toString(x.expires_at), created_at: toString(x.created_at),
          updated_at: toString(x.updated_at), revoked_at: toString(x.revoked_at),
          suppressed_count: COUNT { (x)<-[:SUPPRESSED_BY]-() }} AS exception
