//! What a node needs to start and stay up, beyond its configuration: the
//! image it runs, its JDBC driver, its keystore, who takes over when the
//! active node of a pair is lost (domain.md section 7).

use super::declare_lint;
use crate::diagnostics::Diagnostic;
use crate::model::*;

declare_lint!(
    ST001,
    Warning,
    "the images are not pinned: no `update_level` (or the floating level 0), so nodes may start different updates",
    r#"## What it does
Warns when the topology names no WSO2 update level (or level 0, which WSO2
moves to the latest updates), so the images are tagged with the version
alone and no custom image names its own tag or digest.

## Why is this bad?
WSO2 republishes a version's tag as updates come out. Nodes that start on
different days then run different update levels against one database,
and a node that restarts changes its level without a change to the
topology. Unpinned images are pulled at every start (`Always`), so at least
no node keeps a stale copy, but the drift stays.

## Example
```topo
topology acme {
  version = "4.2.0"
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
  version = "4.2.0"
  update_level = 12   # images tagged 4.2.0.12
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
    ST002,
    Warning,
    "a datasource names no JDBC driver: no WSO2 image or pack ships one, so its nodes cannot connect",
    r#"## What it does
Reports a datasource (used by a cluster) that does not name the JDBC driver
of its engine (a replica inherits its primary's). A warning, not an error:
a cluster may run a custom `image` that carries its driver, but Compose and
Puppet nodes still need the jar named.

## Why is this bad?
No WSO2 image or product pack ships a MySQL, PostgreSQL, SQL Server or
Oracle driver. A node whose deployment.toml names `com.mysql.cj.jdbc.Driver`
without the jar in `repository/components/lib` fails at start. The build
puts the named jar there on every target: a read-only mount on Compose, a
file on Puppet hosts, and the images built for Kubernetes.

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
    driver = "mysql-connector-j-8.4.0.jar"   # in operator-files/acme/lib/
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
    ST003,
    Warning,
    "the nodes run on WSO2's bundled keystore, whose private key everyone has",
    r#"## What it does
Warns when the topology names no `keystore`, so every node signs tokens and
serves TLS with the `wso2carbon.jks` that ships in every WSO2 pack.

## Why is this bad?
The bundled keystore's private key is public: anyone can sign tokens your
gateways accept and impersonate your servers. Its password is `wso2carbon`,
so the keystore password secret must be that too, or the nodes cannot open
it and fail at start.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
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
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
  # in operator-files/acme/security/, the same on every node
  truststore = "client-truststore.p12"
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
    ST004,
    Warning,
    "an active-passive pair without a load balancer in front: on Compose and Puppet nothing moves its traffic when the active node is lost",
    r#"## What it does
Warns when no load balancer fronts an active-passive cluster.

## Why is this bad?
A hot standby takes over only if something sends it the traffic. nginx does
that for the pairs it fronts (the passive node is its `backup` upstream),
and on Kubernetes the standby's readiness follows the active node's health.
Without a load balancer, clients of Compose and Puppet deployments reach
the pair by the cluster's name, which points at the active node: when it is
lost, someone must move that name to the passive node.

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

/// Every runtime rule.
pub fn check(t: &Topology, complete: bool, out: &mut Vec<Diagnostic>) {
    if !complete {
        return;
    }
    images(t, out);
    drivers(t, out);
    keystore(t, out);
    standbys(t, out);
}

fn images(t: &Topology, out: &mut Vec<Diagnostic>) {
    let pinned_by_level = t.update_level.as_ref().is_some_and(|l| l.value > 0);
    if pinned_by_level || t.clusters.iter().all(|c| c.image.is_some()) {
        return;
    }
    let (span, message) = match &t.update_level {
        Some(level) => (
            level.span,
            format!(
                "update level 0 is the floating tag of the latest updates: the nodes of topology `{}` may start different ones",
                t.name
            ),
        ),
        None => (
            t.version.as_ref().map_or(t.span, |v| v.span),
            format!(
                "topology `{}` names no update level: its images are tagged with the version, which WSO2 moves as updates come out",
                t.name
            ),
        ),
    };
    out.push(
        Diagnostic::new(&ST001, span, message)
            .label("images not pinned")
            .help("set `update_level` to the WSO2 update level you run (e.g. `update_level = 12` for images tagged 4.2.0.12), or give each cluster an `image` with its own tag or digest"),
    );
}

fn drivers(t: &Topology, out: &mut Vec<Diagnostic>) {
    let used: std::collections::BTreeSet<usize> = t
        .clusters
        .iter()
        .flat_map(|c| c.datasources.iter().map(|d| d.value.0))
        .chain(
            // The replicas a standby site's copies use.
            t.datasources
                .iter()
                .enumerate()
                .filter(|(_, d)| d.replica_of.is_some())
                .map(|(i, _)| i),
        )
        .collect();
    for index in used {
        let ds = &t.datasources[index];
        // A replica inherits its primary's driver: the primary is reported.
        if ds.driver.is_some() || ds.replica_of.is_some() {
            continue;
        }
        let Some(engine) = ds.engine else { continue };
        let (jar, project) = match engine {
            Engine::Mysql | Engine::Mariadb => ("mysql-connector-j-8.4.0.jar", "MySQL Connector/J"),
            Engine::Postgres => ("postgresql-42.7.4.jar", "the PostgreSQL JDBC driver"),
            Engine::Mssql => ("mssql-jdbc-12.8.1.jre11.jar", "Microsoft's JDBC driver"),
            Engine::Oracle => ("ojdbc11.jar", "Oracle's JDBC driver"),
        };
        out.push(
            Diagnostic::new(
                &ST002,
                ds.span,
                format!(
                    "datasource `{}` ({}) names no JDBC driver: its nodes cannot connect",
                    ds.name,
                    engine.name()
                ),
            )
            .label("no driver")
            .help(format!(
                "download {project} into operator-files/{}/lib/ and add `driver = \"{jar}\"` (its replicas inherit it)",
                crate::model::naming::dns_label(&t.name)
            )),
        );
    }
}

fn keystore(t: &Topology, out: &mut Vec<Diagnostic>) {
    if t.keystore.is_some() {
        return;
    }
    out.push(
        Diagnostic::new(
            &ST003,
            t.span,
            format!(
                "topology `{}` runs on WSO2's bundled keystore: its private key is public, and its password must be `wso2carbon`",
                t.name
            ),
        )
        .label("no keystore")
        .help(format!(
            "put your keystore (and truststore) in operator-files/{}/security/ and set `keystore = \"<file>\"` (and `truststore`) in the topology block",
            crate::model::naming::dns_label(&t.name)
        )),
    );
}

fn standbys(t: &Topology, out: &mut Vec<Diagnostic>) {
    for (index, c) in t.clusters.iter().enumerate() {
        if c.ha_mode() != HaMode::ActivePassive {
            continue;
        }
        let fronted = t
            .load_balancers
            .iter()
            .any(|lb| lb.fronts.iter().any(|f| f.value.0 == index));
        if fronted {
            continue;
        }
        out.push(
            Diagnostic::new(
                &ST004,
                c.span,
                format!(
                    "no load balancer fronts active-passive cluster `{}`: on Compose and Puppet, when its active node is lost nothing sends the traffic to its standby",
                    c.name
                ),
            )
            .label("no automatic takeover")
            .help("front the cluster with a `load_balancer` (its passive node becomes nginx's backup), or accept that the cluster's DNS name must be moved to the passive node by hand (Kubernetes moves it on its own)"),
        );
    }
}
