//! HA rules (source notes, rules 1-4; WSO2 pairing).

use super::declare_lint;
use crate::diagnostics::{Diagnostic, Severity};
use crate::model::*;

declare_lint!(
    HA001,
    Error,
    "active-active cluster: (nodes - 1) x node_capacity < degraded_capacity x peak_load",
    r#"## What it does
For an active-active cluster, checks that with one node down the remaining
nodes still serve `degraded_capacity` (default 75%) of the peak load:
`(nodes - 1) x node_capacity >= degraded_capacity x peak_load`.

## Why is this bad?
Nodes go down: for patches, upgrades and failures. If the others cannot
carry the load the service is slow at best and refuses traffic at worst.
The rule is the first of the source notes: "at least 75% of the overall
load can be handled" with one node gone.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 2000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 2000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker
    nodes = 2                 # one node left: 1000rps < 75% of 2000rps
    ha = active-active
    node_capacity = 1000rps
    datasources = [shared_db]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 2000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 2000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker
    nodes = 3                 # two nodes left: 2000rps >= 1500rps
    ha = active-active
    node_capacity = 1000rps
    datasources = [shared_db]
  }
}
```
"#
);

declare_lint!(
    HA002,
    Error,
    "active-passive cluster whose standby is not hot",
    r#"## What it does
Reports an active-passive cluster whose passive node is a cold standby.

## Why is this bad?
The passive node must be running, just not receiving traffic, so that it
takes over at once (rule 2 of the source notes). A cold passive node turns
every failure of the active one into an outage.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 2
    ha = active-passive
    node_capacity = 1000rps
    standby = cold   # the passive node is not running
    datasources = [apim_db, shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 2
    ha = active-passive
    node_capacity = 1000rps
    standby = hot
    datasources = [apim_db, shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}
```
"#
);

declare_lint!(
    HA003,
    Error,
    "active-passive cluster whose node_capacity < peak_load (a lone node must carry the full load)",
    r#"## What it does
For an active-passive cluster, checks that one node serves the whole peak:
`node_capacity >= peak_load`.

## Why is this bad?
Only one node takes traffic at a time; if it cannot carry the peak the
cluster is overloaded every day, not only during a failure.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 2
    ha = active-passive
    node_capacity = 500rps   # the peak is 1000rps
    datasources = [apim_db, shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 2
    ha = active-passive
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}
```
"#
);

declare_lint!(
    HA004,
    Warning,
    "single point of failure: a cluster with nodes = 1 or ha = none in a primary or read-only datacenter",
    r#"## What it does
Warns about a cluster that serves a primary or read-only datacenter with a
single node, or without an HA mode.

## Why is this bad?
Any restart, patch or failure of that node is an outage. Add a second node
(or allow the code for a deliberate development topology).

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 1
    datasources = [apim_db, shared_db]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

declare_lint!(
    HA005,
    Warning,
    "disaster-recovery datacenter with cold/warm standby: states the unavailability window (error if recovery_time is missing)",
    r#"## What it does
States the window of unavailability of a cold or warm disaster-recovery
site (its `recovery_time`), and refuses a cold or warm site that does not
say how long recovery takes.

## Why is this bad?
A cold standby is a sound choice for rare datacenter outages, but it means
downtime equal to the recovery time (rule 3 of the source notes). The
operators and their users must know the figure.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}

datacenter london {
  role = disaster-recovery
  replicates = colombo
  standby = cold   # how long until it serves?
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}

datacenter london {
  role = disaster-recovery
  replicates = colombo
  standby = hot
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }
}
```

A cold or warm site that gives `recovery_time` (say `recovery_time = 4h`)
is reported as a warning that states the window: allow HA005 once the
operators and users have accepted it.
"#
);

declare_lint!(
    HA006,
    Error,
    "manager: not exactly one manager in a multi-node rsync cluster; warning when an active-passive cluster's manager is not the passive node",
    r#"## What it does
Checks that artifacts are deployed from exactly one manager node: a
multi-node cluster that shares files by rsync needs `manager` to name one
existing node; a `manager` list names one node. In an active-passive
cluster the manager should be the passive node (a warning otherwise).

## Why is this bad?
With rsync, files flow from the manager to the others: two managers
overwrite each other, none leaves the nodes out of step. Deploying on the
passive node keeps the active one serving untouched (rule 4).

## Example
```topo
topology acme {
  version = "3.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  file_share deployment {
    method = rsync
    storage_class = "efs-sc"   # for Kubernetes (FS004)
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    file_share = deployment   # rsync from which node?
    datasources = [apim_db, shared_db]
  }
}
```

## Use instead
```topo
topology acme {
  version = "3.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  file_share deployment {
    method = rsync
    storage_class = "efs-sc"   # for Kubernetes (FS004)
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    file_share = deployment
    manager = 1
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

declare_lint!(
    HA007,
    Error,
    "control-plane, traffic-manager or all-in-one HA cluster with nodes > 2 (WSO2 pairs exactly two instances)",
    r#"## What it does
Reports an HA control plane, traffic manager or all-in-one cluster of more
than two nodes.

## Why is this bad?
WSO2 pairs these profiles as exactly two named instances that point at each
other (`event_duplicate_url`, traffic manager URL groups). A third node is
not part of the pair and misses events. Scale gateways instead.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 3   # WSO2 pairs two
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

declare_lint!(
    HA008,
    Error,
    "active-passive cluster with nodes != 2",
    r#"## What it does
Reports an active-passive cluster that is not exactly one active and one
passive node.

## Why is this bad?
One node cannot stand by for itself; a third node has no role in an
active-passive pair.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 3   # one active, two passive?
    ha = active-passive
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster control_plane {
    profile = control-plane
    nodes = 2
    ha = active-passive
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}
```
"#
);

declare_lint!(
    HA009,
    Warning,
    "a capacity attribute is missing, so HA001/HA003 cannot be checked",
    r#"## What it does
Warns about an HA cluster whose `node_capacity` is missing, or when neither
the cluster nor the topology gives a `peak_load`.

## Why is this bad?
Without both figures topoc cannot prove the cluster survives a node loss,
nor simulate upgrades against it.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    # no `node_capacity`: how much does one node serve?
    datasources = [apim_db, shared_db]
  }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

/// `1200rps`
pub(crate) fn rps(value: f64) -> String {
    format!("{}rps", format_number(value))
}

fn percent(fraction: f64) -> String {
    format!("{}%", format_number(fraction * 100.0))
}

/// `complete` is false when the topology has language errors: a capacity
/// that was given but rejected is then not reported missing (HA009).
pub fn check(t: &Topology, complete: bool, out: &mut Vec<Diagnostic>) {
    for cluster in &t.clusters {
        capacity(t, cluster, complete, out);
        standby(cluster, out);
        single_point(t, cluster, out);
        manager(t, cluster, out);
        pairing(cluster, out);
    }
    for dc in &t.datacenters {
        disaster_recovery(dc, out);
    }
}

fn capacity(t: &Topology, c: &Cluster, complete: bool, out: &mut Vec<Diagnostic>) {
    let ha = c.ha_mode();
    if ha == HaMode::None {
        return;
    }
    let peak = c.peak_load.as_ref().or(t.peak_load.as_ref());
    let Some(cap) = &c.node_capacity else {
        if !complete {
            return;
        }
        out.push(
            Diagnostic::new(&HA009, c.span, format!("cluster `{}` ({ha}) has no `node_capacity`", c.name))
                .label("capacity unknown")
                .help("add `node_capacity = <rps one node serves>` so topoc can prove it survives a node loss"),
        );
        return;
    };
    let Some(peak) = peak else {
        if !complete {
            return;
        }
        out.push(
            Diagnostic::new(
                &HA009,
                c.span,
                format!("no `peak_load` for cluster `{}`: neither the cluster nor the topology gives one", c.name),
            )
            .label("peak unknown")
            .related(t.span, "the topology could give `peak_load`")
            .help("add `peak_load = <rps>` to the topology block (or to the cluster)"),
        );
        return;
    };
    let Some(nodes) = &c.nodes else { return };
    let degraded = t.degraded_capacity.value;
    match ha {
        HaMode::ActiveActive => {
            let remaining = f64::from(nodes.value.saturating_sub(1)) * cap.value;
            let required = degraded * peak.value;
            if remaining + 1e-9 < required {
                let needed_nodes = (required / cap.value).ceil() as u64 + 1;
                let needed_cap = required / f64::from(nodes.value.saturating_sub(1).max(1));
                let fix = if nodes.value > 1 {
                    format!(
                        "run {needed_nodes} nodes, or raise `node_capacity` to {}",
                        rps(needed_cap.ceil())
                    )
                } else {
                    format!("run {needed_nodes} nodes")
                };
                out.push(
                    Diagnostic::new(
                        &HA001,
                        nodes.span,
                        format!(
                            "cluster `{}` cannot lose a node: with {} of its {} node{} left it serves {}, below {} of the {} peak ({})",
                            c.name,
                            nodes.value.saturating_sub(1),
                            nodes.value,
                            if nodes.value == 1 { "" } else { "s" },
                            rps(remaining),
                            percent(degraded),
                            rps(peak.value),
                            rps(required)
                        ),
                    )
                    .label(format!("{} with one node down", rps(remaining)))
                    .related(cap.span, format!("{} per node", rps(cap.value)))
                    .related(peak.span, format!("peak {}", rps(peak.value)))
                    .help(fix),
                );
            }
        }
        HaMode::ActivePassive => {
            if cap.value + 1e-9 < peak.value {
                out.push(
                    Diagnostic::new(
                        &HA003,
                        cap.span,
                        format!(
                            "cluster `{}` is active-passive but one node serves {}, below the {} peak",
                            c.name,
                            rps(cap.value),
                            rps(peak.value)
                        ),
                    )
                    .label("one node must carry the whole peak")
                    .related(peak.span, format!("peak {}", rps(peak.value)))
                    .help(format!(
                        "raise `node_capacity` to at least {}, or make the cluster active-active",
                        rps(peak.value)
                    )),
                );
            }
        }
        HaMode::None => {}
    }
}

fn standby(c: &Cluster, out: &mut Vec<Diagnostic>) {
    if c.ha_mode() != HaMode::ActivePassive {
        return;
    }
    if let Some(standby) = &c.standby
        && standby.value != ClusterStandby::Hot
    {
        out.push(
                Diagnostic::new(
                    &HA002,
                    standby.span,
                    format!("cluster `{}` is active-passive with a {} standby", c.name, standby.value),
                )
                .label("the passive node must be running")
                .related(c.ha_span(), "active-passive")
                .help("set `standby = hot`: the passive node keeps running without traffic, ready to take over"),
            );
    }
}

fn single_point(t: &Topology, c: &Cluster, out: &mut Vec<Diagnostic>) {
    let role = t.dc(c.datacenter).role();
    if !matches!(role, Some(Role::Primary) | Some(Role::ReadOnly)) {
        return;
    }
    let Some(nodes) = &c.nodes else { return };
    let (span, why) = if nodes.value == 1 {
        (nodes.span, "it has one node".to_string())
    } else if let Some(ha) = c.ha.as_ref().filter(|h| h.value == HaMode::None) {
        (
            ha.span,
            format!("its {} nodes have `ha = none`", nodes.value),
        )
    } else {
        return;
    };
    let dc = t.dc(c.datacenter);
    out.push(
        Diagnostic::new(
            &HA004,
            span,
            format!(
                "cluster `{}` is a single point of failure in {} datacenter `{}`: {why}",
                c.name,
                role.map(Role::name).unwrap_or("?"),
                dc.name
            ),
        )
        .label("single point of failure")
        .help(match c.profile() {
            Some(Profile::ControlPlane) => {
                "run `nodes = 2` with `ha = active-passive` (hot standby) or active-active"
            }
            _ => "run at least `nodes = 2` with `ha = active-active`",
        }),
    );
}

fn manager(t: &Topology, c: &Cluster, out: &mut Vec<Diagnostic>) {
    let nodes = c.node_count();
    let rsync = c
        .file_share
        .as_ref()
        .is_some_and(|fs| t.file_share(fs.value).method() == ShareMethod::Rsync);
    let span = c.manager.as_ref().map(|m| m.span).unwrap_or(c.span);
    let problem = match c.manager.as_ref().map(|m| &m.value) {
        None if rsync && nodes > 1 => Some(format!(
            "cluster `{}` shares files by rsync but names no `manager`: no node is the source of its files",
            c.name
        )),
        Some(Manager::Nodes(list)) if list.len() > 1 => Some(format!(
            "cluster `{}` names {} managers ({}): exactly one node may deploy artifacts",
            c.name,
            list.len(),
            list.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Some(Manager::Nodes(list)) if list.is_empty() => {
            Some(format!("cluster `{}` names no manager node", c.name))
        }
        Some(Manager::Nodes(list)) if list[0] > nodes => Some(format!(
            "cluster `{}` names node {} as manager, but it has {} node{}",
            c.name,
            list[0],
            nodes,
            if nodes == 1 { "" } else { "s" }
        )),
        Some(Manager::Passive) if c.ha_mode() != HaMode::ActivePassive => Some(format!(
            "cluster `{}` names the passive node as manager, but it is {}",
            c.name,
            c.ha_mode()
        )),
        _ => None,
    };
    if let Some(message) = problem {
        let mut d = Diagnostic::new(&HA006, span, message)
            .label("not exactly one manager")
            .help(if c.ha_mode() == HaMode::ActivePassive {
                "write `manager = passive`".to_string()
            } else {
                format!("write `manager = N` with one node number from 1 to {nodes}")
            });
        if let Some(fs) = &c.file_share {
            d = d.related(fs.span, "files are shared through this share");
        }
        out.push(d);
        return;
    }
    if c.ha_mode() == HaMode::ActivePassive
        && let Some(Spanned {
            value: Manager::Nodes(list),
            span,
        }) = &c.manager
        && list.first() == Some(&1)
    {
        out.push(
                    Diagnostic::new(
                        &HA006,
                        *span,
                        format!("the manager of active-passive cluster `{}` is node 1, the active node", c.name),
                    )
                    .severity(Severity::Warning)
                    .label("deploys on the node that serves traffic")
                    .help("write `manager = passive`: deploy and test on the passive node, then move traffic to it"),
                );
    }
}

/// What to write instead of an active-passive cluster of `nodes` nodes.
/// WSO2 pairs exactly two instances of a paired profile (HA007), so more
/// nodes there are not active-active but other clusters.
fn pairing_help(profile: Option<Profile>, nodes: u32) -> String {
    match profile {
        Some(p) if p.is_paired() && nodes > 2 => format!(
            "write `nodes = 2`: WSO2 pairs exactly two {p} instances (HA007); add capacity with gateway-worker clusters (and key-manager clusters for token validation)"
        ),
        Some(p) if p.is_paired() => {
            "write `nodes = 2` for a pair, or `ha = none` for a single node".to_string()
        }
        _ if nodes > 2 => {
            "write `nodes = 2`, or use `ha = active-active` for more nodes".to_string()
        }
        _ => "write `nodes = 2` for a pair, or `ha = none` for a single node".to_string(),
    }
}

fn pairing(c: &Cluster, out: &mut Vec<Diagnostic>) {
    let Some(nodes) = &c.nodes else { return };
    let ha = c.ha_mode();
    if ha == HaMode::ActivePassive && nodes.value != 2 {
        out.push(
            Diagnostic::new(
                &HA008,
                nodes.span,
                format!(
                    "active-passive cluster `{}` has {} node{}; a pair is exactly 2",
                    c.name,
                    nodes.value,
                    if nodes.value == 1 { "" } else { "s" }
                ),
            )
            .label("one active and one passive node")
            .related(c.ha_span(), "active-passive")
            .help(pairing_help(c.profile(), nodes.value)),
        );
        return;
    }
    if let Some(profile) = c.profile()
        && profile.is_paired()
        && ha != HaMode::None
        && nodes.value > 2
    {
        out.push(
                Diagnostic::new(
                    &HA007,
                    nodes.span,
                    format!(
                        "{profile} cluster `{}` has {} nodes; WSO2 pairs exactly 2 instances of this profile",
                        c.name, nodes.value
                    ),
                )
                .label("more than a pair")
                .help("write `nodes = 2`; add capacity with gateway or key-manager clusters instead"),
            );
    }
}

fn disaster_recovery(dc: &Datacenter, out: &mut Vec<Diagnostic>) {
    if dc.role() != Some(Role::DisasterRecovery) {
        return;
    }
    let standby = dc.standby_mode();
    if standby == DcStandby::Hot {
        return;
    }
    let span = dc.standby.as_ref().map(|s| s.span).unwrap_or(dc.span);
    match &dc.recovery_time {
        Some(time) => out.push(
            Diagnostic::new(
                &HA005,
                time.span,
                format!(
                    "disaster-recovery datacenter `{}` is a {standby} standby: a failover to it leaves the service unavailable for up to {}",
                    dc.name, time.value
                ),
            )
            .label(format!("up to {} of downtime", time.value))
            .related(span, format!("{standby} standby"))
            .help("accept the window (allow HA005), or run the site as `standby = hot`"),
        ),
        None => out.push(
            Diagnostic::new(
                &HA005,
                span,
                format!(
                    "disaster-recovery datacenter `{}` is a {standby} standby without `recovery_time`: the window of unavailability is unknown",
                    dc.name
                ),
            )
            .severity(Severity::Error)
            .label(format!("{standby} standby"))
            .help("add `recovery_time = 4h` (how long a failover takes)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnostics::SeverityConfig;
    use crate::load::DiskFs;

    /// The help of HA008 for a cluster of `profile` with `nodes` nodes.
    fn ha008_help(profile: &str, nodes: u32) -> String {
        let text = format!(
            "topology t {{\n  version = \"4.2.0\"\n  peak_load = 100rps\n}}\n\
             datacenter d {{\n  role = primary\n  cluster c {{\n    profile = {profile}\n    \
             nodes = {nodes}\n    ha = active-passive\n    node_capacity = 100rps\n  }}\n}}\n"
        );
        let checked = crate::check_text(
            std::path::Path::new("t.topo"),
            &text,
            &DiskFs,
            &SeverityConfig::default(),
        );
        let d = checked
            .diagnostics
            .iter()
            .find(|d| d.code == "HA008")
            .unwrap_or_else(|| panic!("HA008 for {profile} x{nodes}: {:?}", checked.diagnostics));
        d.help.clone().expect("a help line")
    }

    #[test]
    fn ha008_never_suggests_active_active_where_ha007_forbids_it() {
        for profile in ["control-plane", "traffic-manager", "all-in-one"] {
            let help = ha008_help(profile, 3);
            assert!(!help.contains("active-active"), "{profile}: {help}");
            assert!(
                help.contains("`nodes = 2`") && help.contains("HA007"),
                "{help}"
            );
            let help = ha008_help(profile, 1);
            assert!(!help.contains("active-active"), "{profile}: {help}");
        }
        for profile in ["gateway-worker", "key-manager"] {
            let help = ha008_help(profile, 3);
            assert!(help.contains("`ha = active-active`"), "{profile}: {help}");
        }
    }
}
