//! Language errors. Their checks live where the facts are: the parser
//! (E001), lowering (E002-E006, SEC001), the loader (E007) and the
//! dependency graph (E008).

use super::declare_lint;

declare_lint!(
    E001,
    Error,
    "syntax error (each one reported; parsing goes on after it)",
    r#"## What it does
Reports text that is not valid `.topo` syntax: an unterminated string, a
missing `}`, a value missing after `=`, a character that starts no token,
invalid UTF-8. Each error is reported; parsing resumes at the next attribute
or `}` so that one slip does not hide the rest of the file.

## Why is this bad?
Nothing after a syntax error can be trusted until it is fixed.

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
    # the string is never closed:
    node_capacity = "1000rps
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
    E002,
    Error,
    "unknown block kind or attribute (help: the nearest valid name)",
    r#"## What it does
Reports a block kind or attribute name that the schema does not know, or a
block in the wrong place (a `cluster` outside a `datacenter`).

## Why is this bad?
A misspelt attribute is silently ignored by most configuration tools; the
value the operator meant never takes effect.

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
    memroy = 8GiB   # `memory`, misspelt
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
    memory = 8GiB
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

declare_lint!(
    E003,
    Error,
    "wrong value type, or a value outside its enumeration (help: the allowed values)",
    r#"## What it does
Checks every value against its attribute's type: enumerations, whole
numbers, quantities with the right unit (`rps`, `%`, durations, sizes),
strings, references, lists and `secret("...")`.

## Why is this bad?
A duration where a rate was meant, or `active-pasive`, would otherwise be
discovered by a failed deployment.

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
    ha = active-activ   # `active-active`, misspelt
    node_capacity = 1000rps
    memory = 8GB   # a size in GiB or MiB
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
    memory = 8GiB
    datasources = [apim_db, shared_db]
  }
}
```
"#
);

declare_lint!(
    E004,
    Error,
    "required attribute missing",
    r#"## What it does
Reports a block that lacks an attribute it needs: a cluster without
`profile` or `nodes`, a multi-node cluster without `ha`, a topology without
`version`, an NFS share without `server`.

## Why is this bad?
Without it the topology cannot be checked or compiled; guessing a default
for the HA mode or the profile would hide a decision the operator must make.

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
    # no `profile`: which WSO2 profile do the nodes run?
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
    E005,
    Error,
    "reference to a name that does not exist, or to a block of the wrong kind",
    r#"## What it does
Resolves every reference (`key_manager = control_plane`,
`datasources = [apim_db]`, `replicates = colombo`) and reports names that
do not exist, that name a block of another kind, or that name a cluster
whose profile cannot play the role (a gateway as `key_manager`).

## Why is this bad?
A dangling reference would produce a node configured to call a host that
does not exist.

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
    datasources = [apim_db, shard_db]   # `shared_db`, misspelt
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
    E006,
    Error,
    "duplicate name within a kind, or attribute given twice",
    r#"## What it does
Names are unique per kind across the whole topology (every imported file
together). An attribute may be given once per block, and a name once per
list.

## Why is this bad?
Two clusters named `gateway` would produce two sets of artifacts with the
same host names; an attribute given twice leaves the reader guessing which
one wins.

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
    node_capacity = 800rps
    node_capacity = 1000rps   # given twice
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
    E007,
    Error,
    "import: file not found, unreadable, or an import cycle",
    r#"## What it does
Follows `import "path.topo"` (relative to the importing file). Each file is
read once; a file that imports itself, directly or through others, is a
cycle.

## Why is this bad?
A missing file silently drops part of the topology; a cycle has no order in
which the files could be read.

## Example
Two files, `acme.topo` importing `colombo.topo`; each begins at its
`# name.topo` line.

```topo
# acme.topo
import "colombo.topo"

topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

# colombo.topo
import "acme.topo"   # acme.topo imports this file: a cycle

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
# acme.topo
import "colombo.topo"

topology acme {
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
}

# colombo.topo
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
    E008,
    Error,
    "dependency cycle (replicates, replica_of, key_manager chains): every member named",
    r#"## What it does
Builds the dependency graph (datacenters replicate datacenters, datasources
replicate datasources, clusters use key managers and traffic managers) and
reports every cycle with all its members.

## Why is this bad?
A cycle has no start order: no member can come up before the others, and a
replication loop has no writable original.

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
  replicates = london   # and london replicates colombo
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
"#
);

declare_lint!(
    SEC001,
    Error,
    "a password (or any attribute named *password*, *secret*, *token*) given as a plain string instead of secret(\"...\")",
    r#"## What it does
Reports secrets written into the topology as plain strings. Passwords are
given as `secret("name")`: a reference to a secret held outside the
topology (a Kubernetes Secret, a Compose secret, a Hiera value).

It also reports credentials inside any URL, in whatever attribute: a user
name or password before `@` (`https://admin:pw@artifacts.example/apim`),
or a query or fragment parameter named like a credential (`key`, or a name
containing `pass`, `pwd`, `secret`, `token`, `apikey`, `sig`, `auth`,
`credential`, `private`). The message names what it found, never its
value. An artifact server's credentials go in `credentials =
secret("...")` instead.

## Why is this bad?
Topology files live in version control; a password committed there is
leaked to everyone who can read the repository, and to every artifact
generated from it.

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
    user = "apim"
    password = "s3cret"   # committed with the topology
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
    password = secret("apim-db-password")
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
