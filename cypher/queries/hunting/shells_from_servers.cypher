// Hunting: shells whose parent is a network-facing server, a JVM or a database
// (the usual first step after a web exploit), newest first.
// Parameters: none
// Writes: nothing
MATCH (sh:Process)-[:CHILD_OF]->(parent:Process)
WHERE split(coalesce(sh.exe, ''), '/')[-1] IN ['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'fish']
  AND split(coalesce(parent.exe, ''), '/')[-1] IN
      ['nginx', 'apache2', 'httpd', 'php-fpm', 'java', 'node', 'python', 'python3', 'ruby',
       'gunicorn', 'uwsgi', 'tomcat', 'postgres', 'mysqld', 'mongod', 'redis-server']
RETURN sh.start_time AS started, sh.host_id AS host, parent.exe AS parent, sh.args AS shell,
       sh.key AS process, sh.correlation_key AS correlation_key
ORDER BY started DESC
LIMIT 100
