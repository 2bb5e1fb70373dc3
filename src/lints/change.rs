//! The changes a commit makes that cannot be made in place. CH001 is
//! reported by `topoc plan --since REV` / `--from OLD`, which compare two
//! topologies ([`crate::change`]); its example is a pair of files, the
//! topology before the commit and after it.

use super::declare_lint;

declare_lint!(
    CH001,
    Error,
    "a commit changes what cannot be changed in place (the help says what to do instead)",
    r#"## What it does
Compares the topology before a commit with the topology after it (`topoc
plan PATH --since REV`, or `--from OLD`) and reports each change no runbook
can make to the running deployment without losing data or service: a
datasource moved to another host or database, a cluster's profile or HA
mode changed, a datacenter's role or domain changed, the topology renamed,
or a version change made together with other changes.

## Why is this bad?
A restart does not move data, and a cluster's profile or HA mode is what
its nodes are and how they are reached: changing them in place is an
outage, or a deployment that no longer matches its databases.

## Example
```topo
# before.topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db1.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db1.colombo"  database = "shared_db"
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
# after.topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db2.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db1.colombo"  database = "shared_db"
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
Copy the data to the new server first (a replica of `apim_db`, promoted
once it has caught up), declare it as a datasource of its own, and point
the cluster at it: the commit then changes only where the nodes connect, a
configuration change the runbook rolls through the nodes one at a time.
The old datasource goes in a later commit.

```topo
# before.topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db1.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db1.colombo"  database = "shared_db"
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
# after.topo
topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

datacenter colombo {
  role = primary
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db1.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource apim_db_moved {
    purpose = apim  engine = mysql  host = "db2.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db1.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }

  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 1000rps
    datasources = [apim_db_moved, shared_db]
  }
}
```
"#
);
