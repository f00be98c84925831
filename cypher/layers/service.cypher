// Layer 5 of 6, ambient: services. A frontier process starts a context when it
// is the first process of a systemd unit (its unit, from the sensor or its
// cgroup's '*.service', differs from its parent's) or of a container's workload
// (its parent is outside the container); where the sensor gives neither, when
// it is a direct child of init (pid 1) or of the container runtime (and the
// parent has no unit either). Otherwise it inherits its parent's key.
// Key: 'host:unit', 'cluster:namespace:workload' (the pod name, else the
// container id, when the workload is unknown), or the root process key.
// Parameters: none. Writes: p.ctx_service, p.ctx_service_reason
WITH ['runc', 'crun', 'conmon', 'containerd-shim', 'containerd-shim-runc-v2',
      'containerd-shim-runc-v1', 'containerd', 'dockerd', 'docker-containerd-shim'] AS runtimes
MATCH (p:Frontier)
OPTIONAL MATCH (par:Process {key: p.stamp_parent})
OPTIONAL MATCH (p)-[:IN_CONTAINER]->(c:Container)
OPTIONAL MATCH (c)-[:IN_POD]->(pod:Pod)
WITH p, par, c, pod, runtimes,
     coalesce(p.service, [x IN split(coalesce(p.cgroup, ''), '/') WHERE x ENDS WITH '.service'][-1]) AS unit,
     coalesce(par.service, [x IN split(coalesce(par.cgroup, ''), '/') WHERE x ENDS WITH '.service'][-1]) AS parent_unit,
     [x IN split(coalesce(par.exe, par.comm, ''), '/') | x][-1] AS parent_name
WITH p, par, c, pod, unit, parent_unit,
     c IS NOT NULL AND (par IS NULL OR coalesce(par.container_id, '') <> c.id) AS first_in_container,
     unit IS NOT NULL AND (par IS NULL OR parent_unit IS NULL OR parent_unit <> unit) AS first_in_unit,
     unit IS NULL AND parent_unit IS NULL AND c IS NULL AND par IS NOT NULL
       AND (par.pid = 1 OR parent_name IN runtimes) AS root_of_its_own
SET p.ctx_service = CASE
      WHEN first_in_container AND pod IS NOT NULL
        THEN coalesce(pod.cluster, '') + ':' + pod.namespace + ':' + coalesce(pod.workload, pod.name)
      WHEN first_in_container THEN 'container:' + c.id
      WHEN first_in_unit THEN p.host_id + ':' + unit
      WHEN root_of_its_own THEN p.key
      ELSE par.ctx_service END,
    p.ctx_service_reason = CASE
      WHEN first_in_container THEN 'first process of container ' + coalesce(c.name, c.id)
           + coalesce(' of workload ' + pod.namespace + '/' + coalesce(pod.workload, pod.name), '')
      WHEN first_in_unit THEN 'first process of systemd unit ' + unit
      WHEN root_of_its_own THEN 'direct child of ' + CASE WHEN par.pid = 1 THEN 'init' ELSE 'the container runtime' END
      ELSE null END
