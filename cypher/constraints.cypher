// Uniqueness constraints (each also an index) on every label's key, and the
// indexes for every property a query filters on. One idempotent statement per
// line; applied at start-up by `storyline serve` and by the test suite.
// Parameters: none. Writes: schema only.
CREATE CONSTRAINT host_id IF NOT EXISTS FOR (n:Host) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT container_id IF NOT EXISTS FOR (n:Container) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT pod_uid IF NOT EXISTS FOR (n:Pod) REQUIRE n.uid IS UNIQUE;
CREATE CONSTRAINT process_key IF NOT EXISTS FOR (n:Process) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT event_id IF NOT EXISTS FOR (n:Event) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT file_key IF NOT EXISTS FOR (n:File) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT endpoint_key IF NOT EXISTS FOR (n:Endpoint) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT domain_key IF NOT EXISTS FOR (n:Domain) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT signal_id IF NOT EXISTS FOR (n:Signal) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT context_key IF NOT EXISTS FOR (n:Context) REQUIRE n.key IS UNIQUE;
CREATE CONSTRAINT story_id IF NOT EXISTS FOR (n:Story) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT audit_record_id IF NOT EXISTS FOR (n:AuditRecord) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT finding_id IF NOT EXISTS FOR (n:Finding) REQUIRE n.id IS UNIQUE;
CREATE INDEX event_ts IF NOT EXISTS FOR (n:Event) ON (n.ts);
CREATE INDEX event_kind IF NOT EXISTS FOR (n:Event) ON (n.kind);
CREATE INDEX event_correlation_key IF NOT EXISTS FOR (n:Event) ON (n.correlation_key);
CREATE INDEX process_pid IF NOT EXISTS FOR (n:Process) ON (n.pid);
CREATE INDEX process_exe IF NOT EXISTS FOR (n:Process) ON (n.exe);
CREATE INDEX process_placeholder IF NOT EXISTS FOR (n:Process) ON (n.placeholder);
CREATE INDEX signal_rule_id IF NOT EXISTS FOR (n:Signal) ON (n.rule_id);
CREATE INDEX signal_severity IF NOT EXISTS FOR (n:Signal) ON (n.severity);
CREATE INDEX context_layer IF NOT EXISTS FOR (n:Context) ON (n.layer);
CREATE INDEX story_correlation_key IF NOT EXISTS FOR (n:Story) ON (n.correlation_key);
CREATE INDEX story_status IF NOT EXISTS FOR (n:Story) ON (n.status);
CREATE INDEX story_score IF NOT EXISTS FOR (n:Story) ON (n.score);
CREATE INDEX audit_record_ts IF NOT EXISTS FOR (n:AuditRecord) ON (n.ts);
CREATE CONSTRAINT dead_letter_id IF NOT EXISTS FOR (n:DeadLetter) REQUIRE n.id IS UNIQUE;
CREATE INDEX pod_name IF NOT EXISTS FOR (n:Pod) ON (n.name);
CREATE INDEX audit_record_pod IF NOT EXISTS FOR (n:AuditRecord) ON (n.pod);
CREATE INDEX process_correlation_key IF NOT EXISTS FOR (n:Process) ON (n.correlation_key);
CREATE INDEX signal_correlation_key IF NOT EXISTS FOR (n:Signal) ON (n.correlation_key);
CREATE CONSTRAINT triage_change_id IF NOT EXISTS FOR (n:TriageChange) REQUIRE n.id IS UNIQUE;
CREATE INDEX story_severity IF NOT EXISTS FOR (n:Story) ON (n.severity);
CREATE INDEX event_access_key_id IF NOT EXISTS FOR (n:Event) ON (n.access_key_id);
CREATE INDEX audit_record_access_key_id IF NOT EXISTS FOR (n:AuditRecord) ON (n.access_key_id);
CREATE INDEX event_correlation_key_ts IF NOT EXISTS FOR (n:Event) ON (n.correlation_key, n.ts);
CREATE INDEX event_correlation_key_kind_ts IF NOT EXISTS FOR (n:Event) ON (n.correlation_key, n.kind, n.ts);
CREATE INDEX story_updated_at IF NOT EXISTS FOR (n:Story) ON (n.updated_at);
CREATE INDEX signal_correlation_key_severity IF NOT EXISTS FOR (n:Signal) ON (n.correlation_key, n.severity);
CREATE INDEX finding_image IF NOT EXISTS FOR (n:Finding) ON (n.image);
CREATE INDEX finding_host IF NOT EXISTS FOR (n:Finding) ON (n.host);
CREATE INDEX finding_ref IF NOT EXISTS FOR (n:Finding) ON (n.ref);
CREATE INDEX container_image IF NOT EXISTS FOR (n:Container) ON (n.image);
CREATE CONSTRAINT lock_id IF NOT EXISTS FOR (n:Lock) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT batch_id IF NOT EXISTS FOR (n:Batch) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT event_version_key IF NOT EXISTS FOR (n:EventVersion) REQUIRE n.key IS UNIQUE;
CREATE INDEX endpoint_ip IF NOT EXISTS FOR (n:Endpoint) ON (n.ip);
CREATE INDEX file_path IF NOT EXISTS FOR (n:File) ON (n.path);
CREATE INDEX process_user IF NOT EXISTS FOR (n:Process) ON (n.user);
CREATE INDEX process_session_user IF NOT EXISTS FOR (n:Process) ON (n.session_user);
CREATE INDEX host_last_seen IF NOT EXISTS FOR (n:Host) ON (n.last_seen);
// Search (app/investigation/search.py): full-text indexes over what an analyst types in.
// Those on high-volume labels are eventually consistent: a write does not wait for
// Lucene, and a search may miss what was committed in the last second or so.
CREATE FULLTEXT INDEX search_places IF NOT EXISTS FOR (n:Host|Container|Pod) ON EACH [n.id, n.name, n.image, n.namespace, n.uid];
CREATE FULLTEXT INDEX search_targets IF NOT EXISTS FOR (n:File|Endpoint|Domain) ON EACH [n.path, n.ip, n.key] OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
CREATE FULLTEXT INDEX search_hashes IF NOT EXISTS FOR (n:File) ON EACH [n.hashes] OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
CREATE FULLTEXT INDEX search_processes IF NOT EXISTS FOR (n:Process) ON EACH [n.exe, n.args, n.user, n.session_user, n.key] OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
CREATE FULLTEXT INDEX search_signals IF NOT EXISTS FOR (n:Signal) ON EACH [n.rule_id, n.title, n.tactic, n.technique] OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
CREATE FULLTEXT INDEX search_stories IF NOT EXISTS FOR (n:Story) ON EACH [n.id, n.title, n.hosts, n.users, n.rules, n.tactics, n.techniques];
CREATE CONSTRAINT annotation_id IF NOT EXISTS FOR (n:Annotation) REQUIRE n.id IS UNIQUE;
CREATE INDEX annotation_ts IF NOT EXISTS FOR (n:Annotation) ON (n.ts);
CREATE INDEX annotation_target_key IF NOT EXISTS FOR (n:Annotation) ON (n.target_key);
CREATE CONSTRAINT action_approval_id IF NOT EXISTS FOR (n:ActionApproval) REQUIRE n.id IS UNIQUE;
// Exceptions (app/investigation/exceptions.py): "this is benign" for one rule, and the
// rule's signals read in time order to screen, preview and apply them.
CREATE CONSTRAINT rule_exception_id IF NOT EXISTS FOR (n:RuleException) REQUIRE n.id IS UNIQUE;
CREATE INDEX rule_exception_status IF NOT EXISTS FOR (n:RuleException) ON (n.status);
CREATE CONSTRAINT exception_change_id IF NOT EXISTS FOR (n:ExceptionChange) REQUIRE n.id IS UNIQUE;
CREATE INDEX signal_rule_id_ts IF NOT EXISTS FOR (n:Signal) ON (n.rule_id, n.ts);
// Indicators of compromise (app/indicators/): feeds by name, indicators by `type:value`.
CREATE CONSTRAINT feed_name IF NOT EXISTS FOR (n:Feed) REQUIRE n.name IS UNIQUE;
CREATE CONSTRAINT indicator_id IF NOT EXISTS FOR (n:Indicator) REQUIRE n.id IS UNIQUE;
