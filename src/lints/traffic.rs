//! Traffic rules: given real traffic (`check --traffic`), where an
//! upgrade's window is in the week. Reported by [`crate::traffic`]; UP001
//! is then held to the traffic of the window as well.

use super::declare_lint;

declare_lint!(
    TR001,
    Warning,
    "given traffic (`check --traffic`), an upgrade's window sees far more traffic than the quietest window of its length",
    r#"## What it does
With `topoc check --traffic FILE`, reads the upgrade's `window` against the
traffic data (each slot of the week at its worst over the weeks the data
covers) and compares the highest rate inside it with that of the quietest
window of the same length: the best start, on a whole hour, of any weekday
the data covers. The window is read over the runbook's expected duration
when that is longer. It fires when the window's highest rate is more than
1.5 times the quietest window's, and above it by more than 5% of the
busiest rate of the week (so that 3 rps against 2 rps at night is not
far). The message names the quietest window.

## Why is this bad?
An upgrade takes capacity out of service and, for a version upgrade or a
migration, keeps the portals read-only: in a busy hour that is less
headroom for more users, and more portal writes refused. The window was
chosen by hand; the traffic says when the users are not there.

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
  clusters = [gateway]
  window = "Sun 12:00-14:00 UTC"
}
```

with this traffic (`traffic.csv`, one Sunday, hourly):

```csv
timestamp,rps
2024-05-05T00:00:00Z,60
2024-05-05T01:00:00Z,45
2024-05-05T02:00:00Z,35
2024-05-05T03:00:00Z,30
2024-05-05T04:00:00Z,32
2024-05-05T05:00:00Z,40
2024-05-05T06:00:00Z,70
2024-05-05T07:00:00Z,120
2024-05-05T08:00:00Z,200
2024-05-05T09:00:00Z,280
2024-05-05T10:00:00Z,340
2024-05-05T11:00:00Z,380
2024-05-05T12:00:00Z,400
2024-05-05T13:00:00Z,390
2024-05-05T14:00:00Z,370
2024-05-05T15:00:00Z,350
2024-05-05T16:00:00Z,330
2024-05-05T17:00:00Z,300
2024-05-05T18:00:00Z,260
2024-05-05T19:00:00Z,220
2024-05-05T20:00:00Z,180
2024-05-05T21:00:00Z,140
2024-05-05T22:00:00Z,100
2024-05-05T23:00:00Z,80
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

upgrade monthly_patch {
  kind = patch
  clusters = [gateway]
  window = "Sun 03:00-05:00 UTC"
}
```

with the same traffic:

```csv
timestamp,rps
2024-05-05T00:00:00Z,60
2024-05-05T01:00:00Z,45
2024-05-05T02:00:00Z,35
2024-05-05T03:00:00Z,30
2024-05-05T04:00:00Z,32
2024-05-05T05:00:00Z,40
2024-05-05T06:00:00Z,70
2024-05-05T07:00:00Z,120
2024-05-05T08:00:00Z,200
2024-05-05T09:00:00Z,280
2024-05-05T10:00:00Z,340
2024-05-05T11:00:00Z,380
2024-05-05T12:00:00Z,400
2024-05-05T13:00:00Z,390
2024-05-05T14:00:00Z,370
2024-05-05T15:00:00Z,350
2024-05-05T16:00:00Z,330
2024-05-05T17:00:00Z,300
2024-05-05T18:00:00Z,260
2024-05-05T19:00:00Z,220
2024-05-05T20:00:00Z,180
2024-05-05T21:00:00Z,140
2024-05-05T22:00:00Z,100
2024-05-05T23:00:00Z,80
```
"#
);

declare_lint!(
    TR002,
    Warning,
    "given traffic (`check --traffic`), an upgrade's window cannot be read against it: not a weekly window topoc can place, or not covered by the data",
    r#"## What it does
With `topoc check --traffic FILE`, places each upgrade's `window` in the
week to read the traffic in it (TR001, and UP001 held to the traffic of the
window). A window is a weekday, a time range and a UTC offset: `Sun
01:00-04:00 UTC`, `Sat 23:00-02:00 UTC+05:30` (past midnight), or without
a weekday (`01:00-04:00`, any day: read at its busiest day). Without an
offset it is read in the topology's `time_zone`. It fires when the window
cannot be read that way (a time zone name such as `CEST`: topoc knows only
fixed offsets), or when the traffic data does not cover it (fewer than
seven days of data may miss its weekday).

## Why is this bad?
A window topoc cannot place is a window nothing checks: neither against
the traffic, nor the plan against the traffic in it. The plan falls back to
the peak floor, and the window may be the busiest hour of the week.

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
  clusters = [gateway]
  window = "Sun 05:00-07:00 CEST"
}
```

with this traffic (`traffic.csv`, one Sunday, hourly):

```csv
timestamp,rps
2024-05-05T00:00:00Z,60
2024-05-05T01:00:00Z,45
2024-05-05T02:00:00Z,35
2024-05-05T03:00:00Z,30
2024-05-05T04:00:00Z,32
2024-05-05T05:00:00Z,40
2024-05-05T06:00:00Z,70
2024-05-05T07:00:00Z,120
2024-05-05T08:00:00Z,200
2024-05-05T09:00:00Z,280
2024-05-05T10:00:00Z,340
2024-05-05T11:00:00Z,380
2024-05-05T12:00:00Z,400
2024-05-05T13:00:00Z,390
2024-05-05T14:00:00Z,370
2024-05-05T15:00:00Z,350
2024-05-05T16:00:00Z,330
2024-05-05T17:00:00Z,300
2024-05-05T18:00:00Z,260
2024-05-05T19:00:00Z,220
2024-05-05T20:00:00Z,180
2024-05-05T21:00:00Z,140
2024-05-05T22:00:00Z,100
2024-05-05T23:00:00Z,80
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

upgrade monthly_patch {
  kind = patch
  clusters = [gateway]
  window = "Sun 05:00-07:00 UTC+02:00"
}
```

with the same traffic:

```csv
timestamp,rps
2024-05-05T00:00:00Z,60
2024-05-05T01:00:00Z,45
2024-05-05T02:00:00Z,35
2024-05-05T03:00:00Z,30
2024-05-05T04:00:00Z,32
2024-05-05T05:00:00Z,40
2024-05-05T06:00:00Z,70
2024-05-05T07:00:00Z,120
2024-05-05T08:00:00Z,200
2024-05-05T09:00:00Z,280
2024-05-05T10:00:00Z,340
2024-05-05T11:00:00Z,380
2024-05-05T12:00:00Z,400
2024-05-05T13:00:00Z,390
2024-05-05T14:00:00Z,370
2024-05-05T15:00:00Z,350
2024-05-05T16:00:00Z,330
2024-05-05T17:00:00Z,300
2024-05-05T18:00:00Z,260
2024-05-05T19:00:00Z,220
2024-05-05T20:00:00Z,180
2024-05-05T21:00:00Z,140
2024-05-05T22:00:00Z,100
2024-05-05T23:00:00Z,80
```
"#
);
