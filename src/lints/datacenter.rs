//! Datacenter rules (source notes, rule 10: one master datacenter,
//! read-only datacenters, nothing called across datacenters).

use super::declare_lint;
use crate::diagnostics::Diagnostic;
use crate::model::*;

declare_lint!(
    DC001,
    Error,
    "a cluster uses a datasource in another datacenter",
    r#"## What it does
Reports a cluster whose `datasources` name a datasource declared in another
datacenter.

## Why is this bad?
Database calls across datacenters slow server start-up and every request
that reads the database, and tie the availability of one site to another.
Each datacenter reads its own (replicated) databases.

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
    node_capacity = 1000rps  datasources = [shared_db]   # in colombo
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
```
"#
);

declare_lint!(
    DC002,
    Error,
    "a cluster's key_manager or traffic_manager, or a cluster a load balancer fronts, is in another datacenter",
    r#"## What it does
Reports a cluster whose `key_manager` or `traffic_manager` is a cluster of
another datacenter, and a load balancer that fronts a cluster of another
datacenter (a disaster-recovery datacenter without clusters of its own
fronts the copies of the primary's clusters it runs).

## Why is this bad?
Token validation and throttling decisions happen on every API call; calling
another datacenter for them adds its latency to every request and makes the
site fail when the link does.

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
    key_manager = control_plane   # in colombo
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
    key_manager = key_manager
    node_capacity = 1000rps  datasources = [shared_db_london]
  }
}
```
"#
);

declare_lint!(
    DC003,
    Error,
    "a read-only or disaster-recovery datacenter hosts a writer (control-plane, all-in-one) or a read-write datasource",
    r#"## What it does
Reports a Publisher/DevPortal (control-plane or all-in-one cluster) or a
read-write datasource in a read-only or disaster-recovery datacenter.

## Why is this bad?
All API creation, subscriptions and token generation happen in the master
datacenter; read-only datacenters serve traffic from replicated databases.
A writer elsewhere splits the data.

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

  cluster portal {
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
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
```
"#
);

declare_lint!(
    DC004,
    Error,
    "a read-only datacenter without artifact_source",
    r#"## What it does
Reports a read-only datacenter that does not name the artifact server it
pulls API artifacts from.

## Why is this bad?
No deployment synchronizer runs across datacenters: the master pushes
published APIs to an artifact server and read-only datacenters pull from
it. Without one, APIs published in the master never reach this site.

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
```
"#
);

declare_lint!(
    DC005,
    Error,
    "not exactly one primary datacenter",
    r#"## What it does
Counts the datacenters with `role = primary`: there must be exactly one.

## Why is this bad?
The primary is the one master that holds the read-write databases and the
Publisher. With none nothing can be published; with two, the data diverges.

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

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
  }
}

datacenter london {
  role = primary   # a second master
  datasource apim_db_london {
    purpose = apim  engine = mysql  host = "db.london"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db_london {
    purpose = shared  engine = mysql  host = "db.london"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim_london {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db_london, shared_db_london]
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

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db, shared_db]
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
```
"#
);

declare_lint!(
    DC006,
    Info,
    "more than one datacenter serves traffic: throttle counters are per datacenter",
    r#"## What it does
Notes that more than one datacenter serves API traffic.

## Why is this bad?
It is not wrong, but throttle counters are kept per datacenter: a
subscription limited to 100 requests a minute may make up to 100 a minute
in each serving datacenter. Size the limits accordingly.

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
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
```
"#
);

declare_lint!(
    DC007,
    Error,
    "read-only/disaster-recovery datacenter without replicates, or replicating from a non-primary datacenter",
    r#"## What it does
Checks that every read-only and disaster-recovery datacenter says where its
databases replicate from, and that it is the primary.

## Why is this bad?
Read-only datacenters serve from replicas of the master's databases; a
replica of a replica, or no replication at all, serves stale or missing
subscriptions and tokens.

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
```
"#
);

declare_lint!(
    DC008,
    Error,
    "a cluster lacks a cluster its profile needs in its datacenter: a key manager or traffic manager of a gateway, an event hub (APIM 4.x)",
    r#"## What it does
Checks that every cluster finds, in its own datacenter, the clusters its
profile needs (the README's table "What each profile needs"): a gateway a
key manager and a traffic manager (named by `key_manager` and
`traffic_manager`, or else a cluster whose profile plays the role there),
and on APIM 4.x gateways, key managers and traffic managers an event hub
(in the primary, a control-plane or all-in-one cluster). A read-only
datacenter's event hub is its traffic managers, reported by DC009.

## Why is this bad?
Nothing in a datacenter may call another one, so a role missing there is
missing altogether: a gateway without a key manager validates no token or
subscription, without a traffic manager enforces no throttling limit, and
a node without an event hub never learns of new APIs, subscriptions,
keys, revocations or policies. The generated configuration would simply
leave the section out.

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
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }

  cluster traffic_manager {
    profile = traffic-manager  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db_london, shared_db_london]
  }

  cluster gateway_london {
    profile = gateway-worker  nodes = 2  ha = active-active
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
```
"#
);

declare_lint!(
    DC009,
    Warning,
    "a read-only datacenter (APIM 4.x) has no traffic manager to be its event hub: it sees the primary's changes only when its nodes restart",
    r#"## What it does
Reports a read-only datacenter on APIM 4.x whose gateways or key managers
have no event hub: it has no traffic-manager cluster. The message states
how stale the datacenter then is.

## Why is this bad?
A 4.x gateway loads subscriptions, application keys, APIs and policies
once when it starts, and learns of every later change through the events
its event hub announces. A read-only datacenter's event hub is its traffic
managers, which read its replicas and receive the events the primary's
control planes relay to them (one way: nothing in the datacenter calls the
primary). Without one, nothing announces the primary's changes there:
until its nodes restart, a new subscription or key is found only once
replicated, on the request that needs it; changed or removed
subscriptions, keys, APIs and policies are never seen, and revoked JWT
access tokens stay valid until they expire (1h by default).

## Example
```topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
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
}
```
"#
);

pub fn check(t: &Topology, complete: bool, out: &mut Vec<Diagnostic>) {
    cross_datacenter_calls(t, out);
    writers_outside_primary(t, out);
    load_balancers_stay_home(t, out);
    replication(t, out);
    primaries(t, complete, out);
    serving(t, out);
    if complete {
        profile_needs(t, out);
    }
}

fn profile_names(profiles: &[Profile], role: Role) -> String {
    let names: Vec<String> = profiles
        .iter()
        .filter(|p| runs_in(**p, role))
        .map(|p| format!("`{p}`"))
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// DC008 and DC009: every cluster finds in its datacenter the clusters its
/// profile needs ([`Profile::needs`], [`providers`]). Silent when the
/// topology has language errors, which may be why a cluster is missing.
fn profile_needs(t: &Topology, out: &mut Vec<Diagnostic>) {
    let Some(major) = t.version.as_ref().map(|v| v.value.major()) else {
        return;
    };
    for dc in &t.datacenters {
        let Some(role) = dc.role() else { continue };
        let present: Vec<Profile> = dc
            .clusters
            .iter()
            .filter_map(|&c| t.cluster(c).profile())
            .collect();
        let has = |need: Need| {
            providers(need, role)
                .iter()
                .any(|p| present.contains(p) && runs_in(*p, role))
        };
        let mut without_hub: Vec<&Cluster> = Vec::new();
        for &id in &dc.clusters {
            let c = t.cluster(id);
            let Some(profile) = c.profile() else { continue };
            for &need in profile.needs(major) {
                let named = match need {
                    Need::KeyManager => c.key_manager.is_some(),
                    Need::TrafficManager => c.traffic_manager.is_some(),
                    Need::EventHub => false,
                };
                if named || has(need) {
                    continue;
                }
                if need == Need::EventHub && role == Role::ReadOnly {
                    without_hub.push(c);
                    continue;
                }
                let span = c.profile.as_ref().map(|p| p.span).unwrap_or(c.span);
                let help = match need.attribute() {
                    Some(attr) => format!(
                        "add a {} cluster to `{}` (or name one of its clusters in `{attr}`)",
                        profile_names(providers(need, role), role),
                        dc.name
                    ),
                    None => format!(
                        "add a {} cluster to `{}`",
                        profile_names(providers(need, role), role),
                        dc.name
                    ),
                };
                out.push(
                    Diagnostic::new(
                        &DC008,
                        span,
                        format!(
                            "cluster `{}` ({profile}) has no {} in datacenter `{}`: {}",
                            c.name,
                            need.name(),
                            dc.name,
                            need.without(profile)
                        ),
                    )
                    .label(format!("needs {}", need.with_article()))
                    .help(help),
                );
            }
        }
        if !without_hub.is_empty() {
            let primary = t
                .primary()
                .map(|p| format!("`{}`", t.dc(p).name))
                .unwrap_or_else(|| "the primary".to_string());
            let role_span = dc.role.as_ref().map(|r| r.span).unwrap_or(dc.span);
            let mut d = Diagnostic::new(
                &DC009,
                role_span,
                format!(
                    "read-only datacenter `{}` has no traffic manager to be its event hub, so nothing announces the changes made in {primary} there: {}",
                    dc.name,
                    crate::model::UNRELAYED
                ),
            )
            .label("not kept in step with the primary")
            .help(format!(
                "add a `traffic-manager` cluster to `{}`: it becomes the event hub the primary's control planes relay their events to",
                dc.name
            ));
            for c in &without_hub {
                d = d.related(
                    c.profile.as_ref().map(|p| p.span).unwrap_or(c.span),
                    format!("`{}` has no event hub", c.name),
                );
            }
            out.push(d);
        }
    }
}

fn cross_datacenter_calls(t: &Topology, out: &mut Vec<Diagnostic>) {
    for c in &t.clusters {
        let home = t.dc(c.datacenter);
        for ds in &c.datasources {
            let source = t.datasource(ds.value);
            if source.datacenter != c.datacenter {
                let other = t.dc(source.datacenter);
                out.push(
                    Diagnostic::new(
                        &DC001,
                        ds.span,
                        format!(
                            "cluster `{}` in datacenter `{}` uses datasource `{}` of datacenter `{}`",
                            c.name, home.name, source.name, other.name
                        ),
                    )
                    .label("a database in another datacenter")
                    .related(source.span, format!("declared in `{}`", other.name))
                    .help(format!(
                        "declare a replica in `{}` (`datasource {}_{} {{ replica_of = {} ... }}`) and use it",
                        home.name, source.name, home.name, source.name
                    )),
                );
            }
        }
        for (attr, target) in [
            ("key_manager", &c.key_manager),
            ("traffic_manager", &c.traffic_manager),
        ] {
            let Some(target) = target else { continue };
            let other = t.cluster(target.value);
            if other.datacenter != c.datacenter {
                out.push(
                    Diagnostic::new(
                        &DC002,
                        target.span,
                        format!(
                            "the `{attr}` of cluster `{}` (datacenter `{}`) is `{}` in datacenter `{}`",
                            c.name,
                            home.name,
                            other.name,
                            t.dc(other.datacenter).name
                        ),
                    )
                    .label("called across datacenters on every request")
                    .related(other.span, format!("declared in `{}`", t.dc(other.datacenter).name))
                    .help(format!(
                        "run a {} cluster in `{}` and name it here",
                        if attr == "key_manager" { "key-manager" } else { "traffic-manager" },
                        home.name
                    )),
                );
            }
        }
    }
}

/// A load balancer routes to the clusters of its own datacenter (a
/// disaster-recovery datacenter that mirrors the primary runs copies of
/// the primary's clusters under the same names).
fn load_balancers_stay_home(t: &Topology, out: &mut Vec<Diagnostic>) {
    let primary = t.primary();
    for lb in &t.load_balancers {
        let home = t.dc(lb.datacenter);
        for front in &lb.fronts {
            let c = t.cluster(front.value);
            let copied = home.mirrors_primary() && Some(c.datacenter) == primary;
            if c.datacenter == lb.datacenter || copied {
                continue;
            }
            let other = &t.dc(c.datacenter).name;
            out.push(
                Diagnostic::new(
                    &DC002,
                    front.span,
                    format!(
                        "load balancer `{}` of datacenter `{}` fronts cluster `{}` of datacenter `{other}`",
                        lb.name, home.name, c.name
                    ),
                )
                .label("routed across datacenters")
                .related(c.span, format!("declared in `{other}`"))
                .help(format!(
                    "front the clusters of `{}` here, and give `{other}` a load balancer of its own",
                    home.name
                )),
            );
        }
    }
}

fn writers_outside_primary(t: &Topology, out: &mut Vec<Diagnostic>) {
    for dc in &t.datacenters {
        let Some(role) = dc.role().filter(|r| *r != Role::Primary) else {
            continue;
        };
        let role_span = dc.role.as_ref().map(|r| r.span).unwrap_or(dc.span);
        for &id in &dc.clusters {
            let c = t.cluster(id);
            let Some(profile) = c.profile.as_ref().filter(|p| p.value.is_writer()) else {
                continue;
            };
            out.push(
                Diagnostic::new(
                    &DC003,
                    profile.span,
                    format!(
                        "{role} datacenter `{}` hosts `{}`, a {} cluster that writes to the databases",
                        dc.name, c.name, profile.value
                    ),
                )
                .label("a writer outside the primary")
                .related(role_span, format!("`{}` is {role}", dc.name))
                .help("run the Publisher and DevPortal only in the primary; here use key-manager and gateway-worker clusters"),
            );
        }
        for &id in &dc.datasources {
            let ds = t.datasource(id);
            if ds.access.value == Access::ReadWrite {
                out.push(
                    Diagnostic::new(
                        &DC003,
                        ds.access.span,
                        format!("{role} datacenter `{}` has read-write datasource `{}`", dc.name, ds.name),
                    )
                    .label("read-write outside the primary")
                    .related(role_span, format!("`{}` is {role}", dc.name))
                    .help("make it a replica of the primary's datasource: `replica_of = <name>` (read-only)"),
                );
            }
        }
    }
}

fn replication(t: &Topology, out: &mut Vec<Diagnostic>) {
    for dc in &t.datacenters {
        let Some(role) = dc.role() else { continue };
        if role == Role::Primary {
            continue;
        }
        match &dc.replicates {
            // Written, but naming nothing: E005 names the reference.
            None if dc.rejected.contains(&"replicates") => {}
            None => {
                out.push(
                    Diagnostic::new(
                        &DC007,
                        dc.span,
                        format!("{role} datacenter `{}` does not say where its databases replicate from", dc.name),
                    )
                    .label("no `replicates`")
                    .help(match t.primary() {
                        Some(p) => format!("add `replicates = {}`", t.dc(p).name),
                        None => "add `replicates = <primary datacenter>`".to_string(),
                    }),
                );
            }
            Some(source) => {
                let from = t.dc(source.value);
                if from.role() != Some(Role::Primary) {
                    out.push(
                        Diagnostic::new(
                            &DC007,
                            source.span,
                            format!(
                                "{role} datacenter `{}` replicates `{}`, which is not the primary",
                                dc.name, from.name
                            ),
                        )
                        .label("replicates a non-primary datacenter")
                        .related(
                            from.span,
                            format!(
                                "`{}` is {}",
                                from.name,
                                from.role().map(Role::name).unwrap_or("without a role")
                            ),
                        )
                        .help(match t.primary() {
                            Some(p) => format!("write `replicates = {}`", t.dc(p).name),
                            None => "replicate the primary datacenter".to_string(),
                        }),
                    );
                }
            }
        }
        if role == Role::ReadOnly
            && dc.artifact_source.is_none()
            && !dc.rejected.contains(&"artifact_source")
        {
            let mut d = Diagnostic::new(
                &DC004,
                dc.span,
                format!(
                    "read-only datacenter `{}` has no `artifact_source`",
                    dc.name
                ),
            )
            .label("published APIs never arrive")
            .help(match t.artifact_servers.first() {
                Some(a) => format!("add `artifact_source = {}`", a.name),
                None => "declare an `artifact_server` and add `artifact_source = <its name>`"
                    .to_string(),
            });
            if let Some(role) = &dc.role {
                d = d.related(role.span, "read-only");
            }
            out.push(d);
        }
    }
}

fn primaries(t: &Topology, complete: bool, out: &mut Vec<Diagnostic>) {
    let primaries: Vec<&Datacenter> = t
        .datacenters
        .iter()
        .filter(|d| d.role() == Some(Role::Primary))
        .collect();
    match primaries.as_slice() {
        [_] => {}
        [] => {
            if complete {
                let mut d = Diagnostic::new(
                    &DC005,
                    t.span,
                    if t.datacenters.is_empty() {
                        format!("topology `{}` declares no datacenter", t.name)
                    } else {
                        format!("topology `{}` has no primary datacenter", t.name)
                    },
                )
                .label("no primary")
                .help("give exactly one datacenter `role = primary`");
                for dc in &t.datacenters {
                    if let Some(role) = &dc.role {
                        d = d.related(role.span, format!("`{}` is {}", dc.name, role.value));
                    }
                }
                out.push(d);
            }
        }
        [first, rest @ ..] => {
            for dc in rest {
                let span = dc.role.as_ref().map(|r| r.span).unwrap_or(dc.span);
                out.push(
                    Diagnostic::new(
                        &DC005,
                        span,
                        format!(
                            "{} primary datacenters (`{}` and `{}`): there is exactly one master",
                            primaries.len(),
                            first.name,
                            dc.name
                        ),
                    )
                    .label("a second primary")
                    .related(first.role.as_ref().map(|r| r.span).unwrap_or(first.span), "the first primary")
                    .help(format!(
                        "make `{}` `role = read-only` (with `replicates = {}`) or `disaster-recovery`",
                        dc.name, first.name
                    )),
                );
            }
        }
    }
}

fn serving(t: &Topology, out: &mut Vec<Diagnostic>) {
    let serving: Vec<&Datacenter> = t
        .datacenters
        .iter()
        .filter(|dc| {
            matches!(dc.role(), Some(Role::Primary) | Some(Role::ReadOnly))
                && dc
                    .clusters
                    .iter()
                    .any(|&c| t.cluster(c).profile().is_some_and(Profile::runs_gateway))
        })
        .collect();
    if serving.len() < 2 {
        return;
    }
    let names: Vec<String> = serving.iter().map(|d| format!("`{}`", d.name)).collect();
    let second = serving[1];
    let mut d = Diagnostic::new(
        &DC006,
        second.role.as_ref().map(|r| r.span).unwrap_or(second.span),
        format!(
            "{} datacenters serve API traffic ({}): throttle counters are kept per datacenter",
            serving.len(),
            names.join(", ")
        ),
    )
    .label("a second datacenter serving traffic")
    .help(format!(
        "a limit of 100 requests per minute allows up to {} per minute across the {} datacenters; size limits per datacenter (allow DC006 once done)",
        100 * serving.len(),
        serving.len()
    ));
    for dc in serving.iter().filter(|d| d.name != second.name) {
        d = d.related(
            dc.role.as_ref().map(|r| r.span).unwrap_or(dc.span),
            format!("`{}` serves traffic", dc.name),
        );
    }
    out.push(d);
}
