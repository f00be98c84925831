// Hunting: shells whose parent is a network-facing server, a JVM or a database
// (the usual first step after a web exploit), newest first. Shells are looked
// up by their usual paths through the Process(exe) index (a shell copied
// elsewhere, such as /tmp/bash, is another hunt).
// Parameters: none
// Writes: nothing
UNWIND ['/bin/', '/usr/bin/', '/usr/local/bin/', '/sbin/', '/usr/sbin/'] AS dir
UNWIND ['sh', 'bash', 'dash', 'zsh', 'ash', 'ksh', 'fish'] AS shell
MATCH (sh:Process {exe: dir + shell})-[:CHILD_OF]->(parent:Process)
WHERE split(coalesce(parent.exe, ''), '/')[-1] IN
      ['nginx', 'apache2', 'httpd', 'php-fpm', 'java', 'node', 'python', 'python3', 'ruby',
       'gunicorn', 'uwsgi', 'tomcat', 'postgres', 'mysqld', 'mongod', 'redis-server']
RETURN sh.start_time AS started, sh.host_id AS host, parent.exe AS parent, sh.args AS shell,
       sh.key AS process, sh.correlation_key AS correlation_key
ORDER BY started DESC
LIMIT 100
