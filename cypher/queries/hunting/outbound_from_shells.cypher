// Hunting: outbound connections made by shells and shell tools (curl, wget,
// nc, ...) to addresses outside private ranges: downloads, reverse shells, C2.
// Parameters: none
// Writes: nothing
MATCH (e:Event {kind: 'network_connect'})-[:BY]->(p:Process)
WHERE split(coalesce(p.exe, ''), '/')[-1] IN
      ['sh', 'bash', 'dash', 'zsh', 'curl', 'wget', 'nc', 'ncat', 'netcat', 'socat', 'python',
       'python3', 'perl', 'php', 'ruby']
  AND e.dst_ip IS NOT NULL
  AND NOT (e.dst_ip STARTS WITH '10.' OR e.dst_ip STARTS WITH '192.168.'
           OR e.dst_ip STARTS WITH '127.' OR e.dst_ip STARTS WITH '169.254.'
           OR e.dst_ip =~ '172\\.(1[6-9]|2[0-9]|3[01])\\..*' OR e.dst_ip STARTS WITH 'fd'
           OR e.dst_ip = '::1')
RETURN e.ts AS ts, e.host_id AS host, p.exe AS exe, p.args AS args,
       e.dst_ip + ':' + toString(e.dst_port) AS destination, e.correlation_key AS correlation_key
ORDER BY ts DESC
LIMIT 100
