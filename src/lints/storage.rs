//! Datasource and file-sharing rules (source notes, rules 4-5; domain.md
//! sections 2 and 4).

use std::collections::BTreeSet;

use super::declare_lint;
use crate::diagnostics::Diagnostic;
use crate::model::*;

declare_lint!(
    DS001,
    Error,
    "a cluster lacks a datasource that its profile needs",
    r#"## What it does
Checks that every cluster points at the external databases its profile
needs: `shared` (WSO2SHARED_DB, registry and user store) for every profile,
and `apim` (WSO2AM_DB) for all-in-one, control-plane, key-manager and
traffic-manager. A disaster-recovery datacenter that copies the primary's
clusters needs a replica of each datasource they use.

## Why is this bad?
A node without its database falls back to the embedded H2 database, which
is never shared: every node then has its own users, APIs and tokens.

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
    profile = gateway-worker
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = []
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
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [shared_db]
  }
}
```
"#
);

declare_lint!(
    DS002,
    Error,
    "a replica_of datasource not in the datacenter named by its datacenter's replicates, or whose access is not read-only",
    r#"## What it does
Checks that a replica replicates a datasource of the datacenter its own
datacenter `replicates`, and that it is read-only.

## Why is this bad?
Replication follows the datacenters: a replica of another site's database,
or a replica the nodes write to, breaks the one-master rule.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
  allow = ["DC006"]   # both datacenters serve traffic: limits are sized for it
}

artifact_server artifacts { url = "https://artifacts.acme.example/apim" }

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

datacenter london {
  role = read-only
  replicates = colombo
  artifact_source = artifacts
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db_paris  host = "db.london" }   # paris is no primary

  cluster key_manager {
    profile = key-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster traffic_manager {
    profile = traffic-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster gateway_london {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [shared_db_london]
  }
}

datacenter paris {
  role = disaster-recovery
  replicates = colombo
  standby = hot
  datasource apim_db_paris { replica_of = apim_db  host = "db.paris" }
  datasource shared_db_paris { replica_of = shared_db  host = "db.paris" }
}
```

## Use instead
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
  allow = ["DC006"]   # both datacenters serve traffic: limits are sized for it
}

artifact_server artifacts { url = "https://artifacts.acme.example/apim" }

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

datacenter london {
  role = read-only
  replicates = colombo
  artifact_source = artifacts
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }

  cluster key_manager {
    profile = key-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster traffic_manager {
    profile = traffic-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster gateway_london {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [shared_db_london]
  }
}

datacenter paris {
  role = disaster-recovery
  replicates = colombo
  standby = hot
  datasource apim_db_paris { replica_of = apim_db  host = "db.paris" }
  datasource shared_db_paris { replica_of = shared_db  host = "db.paris" }
}
```
"#
);

declare_lint!(
    DS003,
    Warning,
    "a datasource no cluster uses",
    r#"## What it does
Warns about a datasource that no cluster lists, that no replica copies and
that no disaster-recovery copy needs.

## Why is this bad?
It is probably a typo in a cluster's `datasources`, or a leftover.

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
  datasource old_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
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
  # old_db removed: no cluster used it

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
    FS001,
    Error,
    "APIM < 4.0: a multi-node gateway or all-in-one cluster without a file_share",
    r#"## What it does
For APIM before 4.0, checks that a gateway-worker or all-in-one cluster of
more than one node shares its deployment folder.

## Why is this bad?
Before 4.0 gateways read API artifacts from
`repository/deployment/server/synapse-configs`: without a shared file
system (NFS) or rsync from the manager, an API deployed on one node is
missing on the others.

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

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
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
    method = nfs
    server = "nfs.colombo"
    path = "/exports/apim"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    file_share = deployment
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

declare_lint!(
    FS002,
    Error,
    "a cluster uses a file_share of another datacenter",
    r#"## What it does
Reports a cluster whose `file_share` is declared in another datacenter.

## Why is this bad?
File systems are not shared across datacenters; artifacts reach other
sites through the artifact server.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
  allow = ["DC006"]   # both datacenters serve traffic: limits are sized for it
}

artifact_server artifacts { url = "https://artifacts.acme.example/apim" }

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

  file_share tenants { method = nfs  server = "nfs.colombo"  path = "/exports/tenants" }

  cluster control_plane {
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    file_share = tenants
    node_capacity = 1000rps  datasources = [shared_db]
  }
}

datacenter london {
  role = read-only
  replicates = colombo
  artifact_source = artifacts
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }

  cluster key_manager {
    profile = key-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster traffic_manager {
    profile = traffic-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster gateway_london {
    profile = gateway-worker  nodes = 2  ha = active-active
    file_share = tenants   # in colombo
    node_capacity = 1000rps  datasources = [shared_db_london]
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
  allow = ["DC006"]   # both datacenters serve traffic: limits are sized for it
}

artifact_server artifacts { url = "https://artifacts.acme.example/apim" }

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

  file_share tenants { method = nfs  server = "nfs.colombo"  path = "/exports/tenants" }

  cluster control_plane {
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db, shared_db]
  }

  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    file_share = tenants
    node_capacity = 1000rps  datasources = [shared_db]
  }
}

datacenter london {
  role = read-only
  replicates = colombo
  artifact_source = artifacts
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }
  file_share tenants_london { method = nfs  server = "nfs.london"  path = "/exports/tenants" }

  cluster key_manager {
    profile = key-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster traffic_manager {
    profile = traffic-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster gateway_london {
    profile = gateway-worker  nodes = 2  ha = active-active
    file_share = tenants_london
    node_capacity = 1000rps  datasources = [shared_db_london]
  }
}
```
"#
);

declare_lint!(
    FS003,
    Warning,
    "a file share no cluster uses",
    r#"## What it does
Warns about a file share that no cluster names.

## Why is this bad?
It is probably a typo in a cluster's `file_share`, or a leftover.

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

  file_share deployment {
    method = nfs
    server = "nfs.colombo"
    path = "/exports/apim"
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

  # the file share is removed: no cluster used it

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
    DS004,
    Error,
    "a datasource's database or user holds characters WSO2 cannot carry into its JDBC URL or datasource XML",
    r#"## What it does
Checks the `database` and `user` of every datasource. WSO2's config mapper
pastes them, unescaped, into `master-datasources.xml` (the database inside
the JDBC URL). topoc writes the XML characters of a user name (`&`, `<`,
`>`, quotes) as XML entities, which the XML parser reads back as they
were; what no escaping carries is refused:

- a database name with anything but letters, digits, `_`, `.` and `-`: in
  a JDBC URL `/`, `?`, `;`, `&`, `=`, `#`, `%`, `:`, `@`, spaces and quotes
  start another part of the URL or another driver property;
- a user with `${...}`, `$env{...}`, `$ref{...}`, `$sys{...}` or
  `$secret{...}` (placeholders the config mapper or the server would
  replace), or control characters.

## Why is this bad?
The node connects to another database than the one named, passes driver
properties nobody meant, or fails to start on a malformed XML file.

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
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim;encrypt=false"
    user = "${user.name}"
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
    user = "apim"
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
    FS004,
    Warning,
    "a file share with neither an NFS server nor a `storage_class`: on Kubernetes its ReadWriteMany claim stays Pending",
    r#"## What it does
Warns when a file share that clusters use gives Kubernetes nothing to bind
its ReadWriteMany claim to: it is not an NFS share with `server` and
`path` (a PersistentVolume of its own), and names no `storage_class`.

## Why is this bad?
Most clusters have no default StorageClass that offers ReadWriteMany, so the
claim stays Pending and the pods that mount it never start. An rsync share
is a Puppet-host notion: on Kubernetes the shared folders need a volume
every node mounts.

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

  file_share deployment {
    method = rsync
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

  file_share deployment {
    method = rsync             # Puppet hosts
    storage_class = "efs-sc"   # Kubernetes: a ReadWriteMany class
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

pub fn check(t: &Topology, complete: bool, out: &mut Vec<Diagnostic>) {
    if complete {
        needed_datasources(t, out);
        unused(t, out);
    }
    replicas(t, out);
    carried_strings(t, out);
    file_shares(t, out);
    if complete {
        kubernetes_storage(t, out);
    }
    if complete {
        mirrored_file_shares(t, out);
    }
}

/// A disaster-recovery datacenter without clusters of its own runs copies
/// of the primary's clusters: each copy that shares files needs a file
/// share of the same method in that datacenter (FS002).
fn mirrored_file_shares(t: &Topology, out: &mut Vec<Diagnostic>) {
    let Some(primary) = t.primary() else { return };
    for dc_id in t.dc_ids() {
        let dc = t.dc(dc_id);
        if !dc.mirrors_primary() {
            continue;
        }
        for &cid in &t.dc(primary).clusters {
            let c = t.cluster(cid);
            let Some(fs) = &c.file_share else { continue };
            if t.mirror_file_share(dc_id, fs.value).is_some() {
                continue;
            }
            let share = t.file_share(fs.value);
            let method = share.method();
            out.push(
                Diagnostic::new(
                    &FS002,
                    dc.span,
                    format!(
                        "cluster `{}` (copied into datacenter `{}`) would use file share `{}` of datacenter `{}`: `{}` has no {method} file share",
                        c.name,
                        dc.name,
                        share.name,
                        t.dc(primary).name,
                        dc.name
                    ),
                )
                .label("no file share for the copies")
                .related(fs.span, format!("`{}` shares files here", c.name))
                .help(format!(
                    "declare `file_share {}_{} {{ method = {method} ... }}` in `{}`",
                    share.name, dc.name, dc.name
                )),
            );
        }
    }
}

fn purpose_doc(p: Purpose) -> &'static str {
    match p {
        Purpose::Apim => "WSO2AM_DB: APIs, subscriptions and tokens",
        Purpose::Shared => "WSO2SHARED_DB: registry and user store",
    }
}

fn needed_datasources(t: &Topology, out: &mut Vec<Diagnostic>) {
    for c in &t.clusters {
        let Some(profile) = c.profile() else { continue };
        let have: BTreeSet<Purpose> = c
            .datasources
            .iter()
            .filter_map(|d| t.datasource(d.value).purpose)
            .collect();
        for &needed in profile.needed_purposes() {
            if have.contains(&needed) {
                continue;
            }
            let home = t.dc(c.datacenter);
            let candidate = home
                .datasources
                .iter()
                .map(|&d| t.datasource(d))
                .find(|d| d.purpose == Some(needed));
            let help = match candidate {
                Some(d) => format!("add `{}` to the cluster's `datasources`", d.name),
                None => format!(
                    "declare a `datasource` with `purpose = {needed}` in datacenter `{}` and list it in `datasources`",
                    home.name
                ),
            };
            out.push(
                Diagnostic::new(
                    &DS001,
                    c.span,
                    format!(
                        "cluster `{}` ({profile}) has no `{needed}` datasource ({})",
                        c.name,
                        purpose_doc(needed)
                    ),
                )
                .label(format!(
                    "needs {} `{needed}` datasource",
                    if needed == Purpose::Apim { "an" } else { "a" }
                ))
                .help(help),
            );
        }
    }
    // Disaster-recovery sites that copy the primary's clusters need a
    // replica of each datasource those clusters use.
    let Some(primary) = t.primary() else { return };
    for dc_id in t.dc_ids() {
        let dc = t.dc(dc_id);
        if !dc.mirrors_primary() {
            continue;
        }
        let mut missing: Vec<(DsId, Vec<&str>)> = Vec::new();
        for &cid in &t.dc(primary).clusters {
            let c = t.cluster(cid);
            for ds in &c.datasources {
                if t.replica_in(dc_id, ds.value).is_some() {
                    continue;
                }
                match missing.iter_mut().find(|(d, _)| *d == ds.value) {
                    Some((_, users)) => users.push(&c.name),
                    None => missing.push((ds.value, vec![&c.name])),
                }
            }
        }
        for (ds, users) in missing {
            let source = t.datasource(ds);
            out.push(
                Diagnostic::new(
                    &DS001,
                    dc.span,
                    format!(
                        "disaster-recovery datacenter `{}` stands by with copies of the primary's clusters, but has no replica of datasource `{}` (used by {})",
                        dc.name,
                        source.name,
                        users.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", ")
                    ),
                )
                .label("no replica for the copied clusters")
                .related(source.span, "the primary's datasource")
                .help(format!(
                    "declare `datasource {}_{} {{ replica_of = {}  host = \"...\" }}` in `{}`",
                    source.name, dc.name, source.name, dc.name
                )),
            );
        }
    }
}

fn replicas(t: &Topology, out: &mut Vec<Diagnostic>) {
    for (i, ds) in t.datasources.iter().enumerate() {
        let Some(source_ref) = &ds.replica_of else {
            continue;
        };
        let source = t.datasource(source_ref.value);
        let dc = t.dc(ds.datacenter);
        let expected = dc
            .replicates
            .as_ref()
            .map(|r| r.value)
            .unwrap_or(ds.datacenter);
        // (a datasource that replicates itself is a cycle: E008)
        // (a read-only or disaster-recovery datacenter without `replicates`
        // is DC007 already)
        let says_nothing = dc.replicates.is_none()
            && !matches!(dc.role(), Some(Role::ReadOnly | Role::DisasterRecovery));
        if says_nothing && source.datacenter != ds.datacenter {
            let source_dc = &t.dc(source.datacenter).name;
            out.push(
                Diagnostic::new(
                    &DS002,
                    source_ref.span,
                    format!(
                        "datasource `{}` replicates `{}` of datacenter `{source_dc}`, but datacenter `{}` replicates no datacenter",
                        ds.name, source.name, dc.name
                    ),
                )
                .label("replicates another datacenter")
                .related(source.span, format!("declared in `{source_dc}`"))
                .related(dc.span, format!("no `replicates` in `{}`", dc.name))
                .help(if dc.role() == Some(Role::Primary) {
                    format!(
                        "the primary datacenter owns its databases: drop `replica_of`, or replicate a datasource of `{}`",
                        dc.name
                    )
                } else {
                    format!(
                        "add `replicates = {source_dc}` to datacenter `{}`, or replicate a datasource of `{}`",
                        dc.name, dc.name
                    )
                }),
            );
        } else if dc.replicates.is_some()
            && source.datacenter != expected
            && source_ref.value != DsId(i)
        {
            let expected_dc = t.dc(expected);
            out.push(
                Diagnostic::new(
                    &DS002,
                    source_ref.span,
                    format!(
                        "datasource `{}` replicates `{}` of datacenter `{}`, but datacenter `{}` replicates `{}`",
                        ds.name,
                        source.name,
                        t.dc(source.datacenter).name,
                        dc.name,
                        expected_dc.name
                    ),
                )
                .label("replicates the wrong datacenter")
                .related(source.span, format!("declared in `{}`", t.dc(source.datacenter).name))
                .help(format!("replicate a datasource of `{}`", expected_dc.name)),
            );
        }
        if ds.access.value != Access::ReadOnly {
            out.push(
                Diagnostic::new(
                    &DS002,
                    ds.access.span,
                    format!(
                        "replica `{}` is {}, but a replica is read-only",
                        ds.name, ds.access.value
                    ),
                )
                .label("a writable replica")
                .related(source_ref.span, format!("a replica of `{}`", source.name))
                .help("remove `access` (replicas are read-only) or drop `replica_of`"),
            );
        }
    }
}

fn unused(t: &Topology, out: &mut Vec<Diagnostic>) {
    let mut used_ds: BTreeSet<DsId> = BTreeSet::new();
    let mut used_fs: BTreeSet<FsId> = BTreeSet::new();
    for c in &t.clusters {
        used_ds.extend(c.datasources.iter().map(|d| d.value));
        used_fs.extend(c.file_share.iter().map(|f| f.value));
    }
    for ds in &t.datasources {
        if let Some(source) = &ds.replica_of {
            used_ds.insert(source.value);
        }
    }
    if let Some(primary) = t.primary() {
        for dc_id in t.dc_ids() {
            if !t.dc(dc_id).mirrors_primary() {
                continue;
            }
            for &cid in &t.dc(primary).clusters {
                let c = t.cluster(cid);
                for ds in &c.datasources {
                    used_ds.extend(t.replica_in(dc_id, ds.value));
                }
                if let Some(fs) = &c.file_share {
                    used_fs.extend(t.mirror_file_share(dc_id, fs.value));
                }
            }
        }
    }
    for (i, ds) in t.datasources.iter().enumerate() {
        if !used_ds.contains(&DsId(i)) {
            out.push(
                Diagnostic::new(
                    &DS003,
                    ds.span,
                    format!("no cluster uses datasource `{}`", ds.name),
                )
                .label("unused")
                .help("list it in the `datasources` of the clusters that need it, or remove it"),
            );
        }
    }
    for (i, fs) in t.file_shares.iter().enumerate() {
        if !used_fs.contains(&FsId(i)) {
            out.push(
                Diagnostic::new(
                    &FS003,
                    fs.span,
                    format!("no cluster uses file share `{}`", fs.name),
                )
                .label("unused")
                .help("set `file_share` on the clusters that use it, or remove it"),
            );
        }
    }
}

fn file_shares(t: &Topology, out: &mut Vec<Diagnostic>) {
    let before_4 = t.version.as_ref().is_some_and(|v| v.value.major() < 4);
    for c in &t.clusters {
        if let Some(fs) = &c.file_share {
            let share = t.file_share(fs.value);
            if share.datacenter != c.datacenter {
                out.push(
                    Diagnostic::new(
                        &FS002,
                        fs.span,
                        format!(
                            "cluster `{}` in datacenter `{}` uses file share `{}` of datacenter `{}`",
                            c.name,
                            t.dc(c.datacenter).name,
                            share.name,
                            t.dc(share.datacenter).name
                        ),
                    )
                    .label("a file share in another datacenter")
                    .related(share.span, format!("declared in `{}`", t.dc(share.datacenter).name))
                    .help(format!(
                        "declare a file share in `{}`; artifacts cross datacenters through the artifact server",
                        t.dc(c.datacenter).name
                    )),
                );
            }
        }
        if !before_4 {
            continue;
        }
        let Some(profile) = c.profile().filter(|p| p.runs_gateway()) else {
            continue;
        };
        if c.node_count() < 2 {
            continue;
        }
        let shared = c
            .file_share
            .as_ref()
            .is_some_and(|fs| t.file_share(fs.value).method() != ShareMethod::None);
        if !shared {
            let version = t
                .version
                .as_ref()
                .map(|v| v.value.to_string())
                .unwrap_or_default();
            let mut d = Diagnostic::new(
                &FS001,
                c.file_share.as_ref().map(|f| f.span).unwrap_or(c.span),
                format!(
                    "{profile} cluster `{}` has {} nodes but shares no files: APIM {version} reads API artifacts from the file system",
                    c.name,
                    c.node_count()
                ),
            )
            .label("no file sharing")
            .help("add a `file_share` (`method = nfs`, or `rsync` with a `manager`) and set `file_share` on the cluster");
            if let Some(v) = &t.version {
                d = d.related(v.span, format!("APIM {}", v.value));
            }
            out.push(d);
        }
    }
}

/// FS004: a share that Kubernetes cannot bind.
fn kubernetes_storage(t: &Topology, out: &mut Vec<Diagnostic>) {
    for (index, share) in t.file_shares.iter().enumerate() {
        let used = t
            .clusters
            .iter()
            .any(|c| c.file_share.as_ref().is_some_and(|f| f.value.0 == index));
        let bound = share.storage_class.is_some()
            || share.method() == ShareMethod::Nfs
            || share.method() == ShareMethod::None;
        if used && !bound {
            out.push(
                Diagnostic::new(
                    &FS004,
                    share.span,
                    format!(
                        "file share `{}` ({}) names no `storage_class`: on Kubernetes its ReadWriteMany claim stays Pending",
                        share.name,
                        share.method().name()
                    ),
                )
                .label("no Kubernetes storage")
                .help("add `storage_class = \"<a ReadWriteMany StorageClass>\"` (for example an EFS, Azure Files, Filestore or NFS provisioner class), or make it an NFS share with `server` and `path`"),
            );
        }
    }
}

/// What in a database name a JDBC URL cannot carry, if anything.
pub fn database_unsafe(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
}

/// What in a user name WSO2 cannot carry into its XML even escaped: a
/// placeholder the config mapper or the server would replace, or a
/// control character.
pub fn user_unsafe(name: &str) -> Option<String> {
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Some(format!(
            "the control character {c:?}, which XML cannot carry"
        ));
    }
    for (i, _) in name.match_indices('$') {
        let rest = &name[i + 1..];
        let word = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .map(|end| &rest[..end])
            .unwrap_or(rest);
        if rest[word.len()..].starts_with('{')
            && matches!(word, "" | "env" | "ref" | "sys" | "secret")
        {
            return Some(format!(
                "`${word}{{`, a placeholder WSO2 replaces before connecting: the node would connect as another user"
            ));
        }
    }
    None
}

/// DS004: the strings of a datasource that reach WSO2's XML and JDBC URLs.
/// A replica inherits them: the datasource that declares them reports.
fn carried_strings(t: &Topology, out: &mut Vec<Diagnostic>) {
    for ds in t.datasources.iter().filter(|d| d.replica_of.is_none()) {
        if let Some(database) = &ds.database {
            let found = if database.is_empty() {
                Some("nothing".to_string())
            } else {
                database_unsafe(database).map(|c| format!("{c:?}"))
            };
            if let Some(found) = found {
                out.push(
                    Diagnostic::new(
                        &DS004,
                        ds.database_span.unwrap_or(ds.span),
                        format!(
                            "the database of datasource `{}` holds {found}, which WSO2 cannot carry into its JDBC URL",
                            ds.name
                        ),
                    )
                    .label("not carried safely")
                    .help("name the database with letters, digits, `_`, `.` and `-` only"),
                );
            }
        }
        if let Some(found) = user_unsafe(&ds.user) {
            out.push(
                Diagnostic::new(
                    &DS004,
                    ds.user_span.unwrap_or(ds.span),
                    format!("the user of datasource `{}` holds {found}", ds.name),
                )
                .label("not carried safely")
                .help("choose a user name without `${`-style placeholders or control characters"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_wso2_cannot_carry() {
        assert_eq!(database_unsafe("WSO2AM_DB"), None);
        assert_eq!(database_unsafe("orcl.example-1"), None);
        assert_eq!(database_unsafe("a;b"), Some(';'));
        assert_eq!(database_unsafe("a?b"), Some('?'));
        assert_eq!(user_unsafe("apim@server"), None);
        assert_eq!(user_unsafe("a&b<c>'\""), None);
        assert_eq!(user_unsafe("$(touch x)"), None);
        assert_eq!(user_unsafe("a$b{c}"), None);
        assert!(user_unsafe("${user.name}").is_some());
        assert!(user_unsafe("x$env{U}").is_some());
        assert!(user_unsafe("$secret{u}").is_some());
        assert!(user_unsafe("a\u{1}").is_some());
    }
}
