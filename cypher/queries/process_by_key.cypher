// One process by key, with the public properties of the model (README, Graph
// model), times as strings.
// $keys: [process key]
// Writes: nothing
UNWIND $keys AS key
MATCH (p:Process {key: key})
RETURN p {.key, .pid, .ppid, .exe, .comm, .args, .cwd, .uid, .user, .gid, .group, .auid,
          .session_id, .tty, .cgroup, .service, .exit_code, .host_id, .container_id,
          .session_kind, .session_user, .placeholder, .correlation_key, .correlation_layer,
          start_time: toString(p.start_time), exit_time: toString(p.exit_time)} AS process
