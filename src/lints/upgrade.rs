//! Upgrade rules (source notes, rules 6-9). UP001 is reported by the
//! planner's simulation (`crate::plan`).

use std::collections::BTreeMap;

use super::declare_lint;
use crate::diagnostics::Diagnostic;
use crate::model::*;

declare_lint!(
    UP001,
    Error,
    "the upgrade's plan cannot keep degraded_capacity at some step (the message names the step)",
    r#"## What it does
Plans the upgrade step by step and simulates it: after every step, the nodes
still serving each cluster must carry `degraded_capacity x peak_load`, an
active-passive pair must keep a hot standby, and two versions never run on
one database. The first step that breaks a rule is named.

## Why is this bad?
An upgrade that drops capacity below the floor is an outage during the
maintenance window, exactly what the source notes set out to avoid.

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
    datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}

upgrade monthly_patch {
  kind = patch
  surge = false   # no temporary node: the pair loses its standby
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

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [shared_db]
  }

  load_balancer portal {
    hostname = "portal.colombo.example"
    fronts = [control_plane]
  }
}

upgrade monthly_patch {
  kind = patch
  surge = true    # a temporary node stands by while one is patched
}
```
"#
);

declare_lint!(
    UP002,
    Error,
    "migration with cutover = gradual and token_sync = one-way",
    r#"## What it does
Reports a migration that shifts traffic gradually while syncing tokens only
from the old deployment to the new one (`token_sync` defaults to one-way).

## Why is this bad?
During a gradual shift both deployments issue tokens; with a one-way sync a
token issued by the new deployment is unknown to the old one, and clients
routed back get 401s.

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

upgrade to_4_3 {
  kind = migration
  to_version = "4.3.0"
  read_only_window = 3h
  cutover = gradual
  token_sync = one-way
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

upgrade to_4_3 {
  kind = migration
  to_version = "4.3.0"
  read_only_window = 3h
  cutover = gradual
  token_sync = two-way
}
```
"#
);

declare_lint!(
    UP003,
    Error,
    "migration without read_only_window",
    r#"## What it does
Reports a migration that does not say how long the Publisher and DevPortal
stay read-only.

## Why is this bad?
A zero-downtime migration makes the portals read-only while the databases
are dumped, restored and migrated (rule 9); the window is what users are
told and what the runbook plans against.

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

upgrade to_4_3 {
  kind = migration
  to_version = "4.3.0"
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

upgrade to_4_3 {
  kind = migration
  to_version = "4.3.0"
  read_only_window = 3h
}
```
"#
);

declare_lint!(
    UP004,
    Error,
    "version-upgrade of only some of the clusters that share a database (two versions on one database)",
    r#"## What it does
Checks that a version upgrade includes every cluster that uses the same
database (or a replica of it).

## Why is this bad?
The database migration scripts move the schema to the new version; a
cluster left on the old version then runs against a schema it does not
know. Never run two versions on one database.

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
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [shared_db]
  }
}

upgrade to_4_3 {
  kind = version-upgrade
  to_version = "4.3.0"
  clusters = [control_plane]   # gateway shares shared_db
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
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [shared_db]
  }
}

upgrade to_4_3 {
  kind = version-upgrade
  to_version = "4.3.0"
  clusters = [control_plane, gateway]
}
```
"#
);

declare_lint!(
    UP005,
    Error,
    "to_version lower than the topology's version",
    r#"## What it does
Reports an upgrade whose `to_version` is older than the topology's
`version`.

## Why is this bad?
WSO2 ships no migration scripts backwards: a downgrade needs a restore from
backup, not an upgrade runbook.

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

upgrade back {
  kind = version-upgrade
  to_version = "4.1.0"
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

upgrade forward {
  kind = version-upgrade
  to_version = "4.3.0"
}
```
"#
);

declare_lint!(
    UP006,
    Error,
    "to_version missing for version-upgrade/migration",
    r#"## What it does
Reports a version upgrade or migration that does not name the version it
moves to.

## Why is this bad?
The runbook needs the target version for the images, packages and
database migration scripts.

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

upgrade next {
  kind = version-upgrade
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

upgrade next {
  kind = version-upgrade
  to_version = "4.3.0"
}
```
"#
);

declare_lint!(
    UP007,
    Warning,
    "the upgrade's runbook takes longer than its maintenance window (the message suggests a split)",
    r#"## What it does
Plans the upgrade for every target and compares the runbook's expected
duration (the sum of its steps' estimates) with the length of the
upgrade's `window` (its `HH:MM-HH:MM`). When the runbook does not fit, the
message says by how much and how to split the upgrade: its clusters, in
start order, grouped into upgrades that each fit the window. A version
upgrade or a migration cannot be split (the portals stay read-only from its
first step to its last): the message gives the window it needs.

## Why is this bad?
A runbook that overruns its window leaves the deployment half changed when
the window closes: nodes of two versions, a temporary node still running,
or portals still read-only.

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
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  key_manager = control_plane
    datasources = [shared_db]
  }
}

upgrade monthly_patch {
  kind = patch
  window = "Sun 01:00-02:00 UTC"
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

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  key_manager = control_plane
    datasources = [shared_db]
  }
}

upgrade patch_control_plane {
  kind = patch
  clusters = [control_plane]
  window = "Sun 01:00-02:00 UTC"
}

upgrade patch_gateway {
  kind = patch
  clusters = [gateway]
  window = "Sun 01:00-02:00 UTC"
}
```
"#
);

/// `complete` is false when the topology has language errors: a
/// `to_version` that was given but rejected is then not reported missing.
pub fn check(t: &Topology, complete: bool, out: &mut Vec<Diagnostic>) {
    for u in &t.upgrades {
        let Some(kind) = u.kind() else { continue };
        versions(t, u, kind, complete, out);
        if kind == UpgradeKind::Migration {
            migration(u, out);
        }
        if kind == UpgradeKind::VersionUpgrade {
            shared_databases(t, u, out);
        }
    }
}

fn versions(
    t: &Topology,
    u: &Upgrade,
    kind: UpgradeKind,
    complete: bool,
    out: &mut Vec<Diagnostic>,
) {
    match &u.to_version {
        None if complete
            && matches!(kind, UpgradeKind::VersionUpgrade | UpgradeKind::Migration) =>
        {
            let mut d = Diagnostic::new(
                &UP006,
                u.span,
                format!("{kind} `{}` has no `to_version`", u.name),
            )
            .label("target version unknown")
            .help(match &t.version {
                Some(v) => format!("add `to_version = \"...\"`, a version after {}", v.value),
                None => "add `to_version = \"4.3.0\"`".to_string(),
            });
            if let Some(k) = &u.kind {
                d = d.related(k.span, kind.name());
            }
            out.push(d);
        }
        Some(to) => {
            if let Some(current) = &t.version
                && to.value < current.value
            {
                out.push(
                    Diagnostic::new(
                        &UP005,
                        to.span,
                        format!(
                            "upgrade `{}` goes from {} down to {}",
                            u.name, current.value, to.value
                        ),
                    )
                    .label("a downgrade")
                    .related(current.span, format!("the topology runs {}", current.value))
                    .help("upgrades only move forward; a downgrade is a restore from backup"),
                );
            }
        }
        None => {}
    }
}

fn migration(u: &Upgrade, out: &mut Vec<Diagnostic>) {
    if u.read_only_window.is_none() {
        out.push(
            Diagnostic::new(
                &UP003,
                u.span,
                format!("migration `{}` has no `read_only_window`", u.name),
            )
            .label("how long are the portals read-only?")
            .help("add `read_only_window = 3h`: the Publisher and DevPortal are read-only while the data moves"),
        );
    }
    if u.cutover_mode() == Cutover::Gradual && u.token_sync_mode() == TokenSync::OneWay {
        let span = u.cutover.as_ref().map(|c| c.span).unwrap_or(u.span);
        let mut d = Diagnostic::new(
            &UP002,
            span,
            format!(
                "migration `{}` shifts traffic gradually with a one-way token sync{}",
                u.name,
                if u.token_sync.is_none() {
                    " (the default)"
                } else {
                    ""
                }
            ),
        )
        .label("both deployments issue tokens during a gradual shift")
        .help("write `token_sync = two-way`, or `cutover = dns` to switch at once");
        if let Some(ts) = &u.token_sync {
            d = d.related(ts.span, "one-way");
        }
        out.push(d);
    }
}

fn shared_databases(t: &Topology, u: &Upgrade, out: &mut Vec<Diagnostic>) {
    let Some(list) = &u.clusters else {
        return; // every cluster moves
    };
    let included: Vec<ClusterId> = list.value.iter().map(|c| c.value).collect();
    // Group clusters by the original database (replicas count as the same).
    let mut by_database: BTreeMap<DsId, Vec<ClusterId>> = BTreeMap::new();
    for id in t.cluster_ids() {
        for ds in &t.cluster(id).datasources {
            let users = by_database.entry(t.replica_root(ds.value)).or_default();
            if !users.contains(&id) {
                users.push(id);
            }
        }
    }
    let mut reported: Vec<ClusterId> = Vec::new();
    for (db, users) in by_database {
        if !users.iter().any(|c| included.contains(c)) {
            continue;
        }
        let left: Vec<ClusterId> = users
            .iter()
            .copied()
            .filter(|c| !included.contains(c) && !reported.contains(c))
            .collect();
        if left.is_empty() {
            continue;
        }
        reported.extend(&left);
        let names = |ids: &[ClusterId]| {
            ids.iter()
                .map(|&c| format!("`{}`", t.cluster(c).name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let moving: Vec<ClusterId> = users
            .iter()
            .copied()
            .filter(|c| included.contains(c))
            .collect();
        let mut d = Diagnostic::new(
            &UP004,
            list.span,
            format!(
                "version-upgrade `{}` moves {} but not {}, which share database `{}`: two versions on one database",
                u.name,
                names(&moving),
                names(&left),
                t.datasource(db).name
            ),
        )
        .label("leaves clusters on the old version")
        .help(format!("add {} to `clusters` (or remove `clusters` to upgrade everything)", names(&left)));
        for &c in &left {
            d = d.related(t.cluster(c).span, "stays on the old version");
        }
        out.push(d);
    }
}
