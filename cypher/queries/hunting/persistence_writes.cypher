// Hunting: writes to the places attackers persist in (cron, systemd units,
// shell profiles, SSH authorized_keys, sudoers, ld.so.preload), with the writer.
// Parameters: none
// Writes: nothing
MATCH (e:Event)-[:TOUCHES]->(f:File), (e)-[:BY]->(p:Process)
WHERE e.kind IN ['file_write', 'file_create', 'file_rename', 'file_chmod']
  AND (e.path STARTS WITH '/etc/cron' OR e.path STARTS WITH '/var/spool/cron'
       OR e.path STARTS WITH '/etc/systemd/system' OR e.path STARTS WITH '/lib/systemd/system'
       OR e.path ENDS WITH '/.ssh/authorized_keys' OR e.path STARTS WITH '/etc/sudoers'
       OR e.path IN ['/etc/ld.so.preload', '/etc/profile', '/etc/bash.bashrc']
       OR e.path ENDS WITH '/.bashrc' OR e.path ENDS WITH '/.profile')
RETURN e.ts AS ts, e.host_id AS host, e.kind AS kind, e.path AS path, p.exe AS writer,
       p.args AS args, e.correlation_key AS correlation_key
ORDER BY ts DESC
LIMIT 100
