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
cluster gateway {
  nodes = 2
  node_capacity = "800rps
}
```

## Use instead
```topo
cluster gateway {
  nodes = 2
  node_capacity = 800rps
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
cluster gateway {
  profile = gateway-worker
  node = 2
}
```

## Use instead
```topo
cluster gateway {
  profile = gateway-worker
  nodes = 2
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
cluster gateway {
  ha = active-activ
  node_capacity = 800
  memory = 4GB
}
```

## Use instead
```topo
cluster gateway {
  ha = active-active
  node_capacity = 800rps
  memory = 4GiB
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
cluster gateway {
  nodes = 2
}
```

## Use instead
```topo
cluster gateway {
  profile = gateway-worker
  nodes = 2
  ha = active-active
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
cluster gateway {
  key_manager = control_plan
}
```

## Use instead
```topo
cluster gateway {
  key_manager = control_plane
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
cluster gateway {
  nodes = 2
  nodes = 3
}
```

## Use instead
```topo
cluster gateway {
  nodes = 3
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
```topo
# a.topo
import "b.topo"
# b.topo
import "a.topo"
```

## Use instead
```topo
# a.topo
import "b.topo"
# b.topo holds its blocks and imports nothing that imports it
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
datacenter london { role = read-only  replicates = paris }
datacenter paris { role = read-only  replicates = london }
```

## Use instead
```topo
datacenter colombo { role = primary }
datacenter london { role = read-only  replicates = colombo }
datacenter paris { role = read-only  replicates = colombo }
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

## Why is this bad?
Topology files live in version control; a password committed there is
leaked to everyone who can read the repository, and to every artifact
generated from it.

## Example
```topo
datasource apim_db {
  password = "s3cret"
}
```

## Use instead
```topo
datasource apim_db {
  password = secret("apim-db-password")
}
```
"#
);
