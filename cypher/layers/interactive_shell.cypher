// Layer 3 of 6, session class: interactive shells. A frontier process starts a
// context when it is a shell (bash, sh, dash, zsh, ash, fish, ksh, tcsh, csh,
// mksh, busybox sh) that is interactive (a tty, -i, or a login shell's leading
// '-'), its parent is not a shell (sshd, login, a terminal, the container
// runtime, a server), it is not inside a session context already, and no higher
// session layer started at it. Otherwise it inherits its parent's key.
// Key: uuid5(namespace, 'interactive_shell' + root key).
// Parameters: none. Writes: p.ctx_interactive_shell, p.ctx_interactive_shell_reason
WITH ['bash', 'sh', 'dash', 'zsh', 'ash', 'fish', 'ksh', 'tcsh', 'csh', 'mksh', 'busybox'] AS shells
MATCH (p:Frontier)
OPTIONAL MATCH (par:Process {key: p.stamp_parent})
WITH p, par, shells,
     [x IN split(coalesce(p.exe, ''), '/') | x][-1] AS name,
     replace(coalesce(p.comm, p.args[0], ''), '-', '') AS comm,
     [x IN split(coalesce(par.exe, ''), '/') | x][-1] AS parent_name,
     replace(coalesce(par.comm, par.args[0], ''), '-', '') AS parent_comm
WITH p, par,
     (name IN shells OR [x IN split(comm, '/') | x][-1] IN shells) AS is_shell,
     par IS NOT NULL AND (parent_name IN shells OR [x IN split(parent_comm, '/') | x][-1] IN shells) AS parent_shell,
     (p.tty IS NOT NULL AND NOT p.tty IN ['?', '(none)', 'none'])
       OR '-i' IN coalesce(p.args, [])
       OR coalesce(p.args[0], '') STARTS WITH '-' AS interactive,
     par IS NOT NULL AND (par.ctx_k8s_user_session IS NOT NULL OR par.ctx_exploit IS NOT NULL
                          OR par.ctx_interactive_shell IS NOT NULL) AS in_session
WITH p, par, is_shell AND interactive AND NOT parent_shell AND NOT in_session
             AND p.ctx_k8s_user_session IS NULL AND p.ctx_exploit IS NULL AS starts
SET p.ctx_interactive_shell = CASE WHEN starts THEN p.session_uuids[2]
                                   ELSE par.ctx_interactive_shell END,
    p.ctx_interactive_shell_reason = CASE WHEN starts
      THEN 'interactive shell ' + coalesce(p.exe, p.comm, '?')
           + coalesce(' on ' + p.tty, '') + ' started by ' + coalesce(par.exe, par.comm, 'an unknown parent')
      ELSE null END
