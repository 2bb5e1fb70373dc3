//! The runbooks' database steps, run by bash as an operator pastes them,
//! against real PostgreSQL and MariaDB servers on loopback (started by
//! `.ci/db-servers`, which `.ci/run` runs first), loaded with WSO2's table
//! and column names (`tests/fixtures/db/`). Each verification is run
//! alone first and must fail, then the step, then the verification must
//! pass; a second run of a step changes nothing.
//!
//! Without the servers' variables (`TOPOC_PG_PORT`, `TOPOC_MARIADB_PORT`,
//! set by `.ci/db-servers start`) the tests say so loudly and pass, unless
//! `TOPOC_REQUIRE_DB=1` (set by `.ci/run`): then they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The servers of one engine, from `.ci/db-servers`.
#[derive(Clone)]
struct Servers {
    engine: &'static str,
    port: String,
    admin: &'static str,
    password: String,
    replication_user: String,
    replication_password: String,
}

const SOURCE: &str = "127.0.0.1";
const TARGET: &str = "127.0.0.2";
const PRIMARY: &str = "127.0.0.3";
const STANDBY: &str = "127.0.0.4";
const FOLLOWER: &str = "127.0.0.5";
const WINDOW_START: &str = "2024-06-01 10:00:00";

fn servers(engine: &'static str) -> Option<Servers> {
    let port_var = if engine == "postgres" {
        "TOPOC_PG_PORT"
    } else {
        "TOPOC_MARIADB_PORT"
    };
    let Ok(port) = std::env::var(port_var) else {
        // CI (.ci/run) sets TOPOC_REQUIRE_DB=1: there a missing server is
        // a failure, never a skip.
        assert!(
            std::env::var("TOPOC_REQUIRE_DB").as_deref() != Ok("1"),
            "TOPOC_REQUIRE_DB=1 but {port_var} is not set: the {engine} servers did not start (.ci/db-servers start)"
        );
        // Straight to the terminal: the test harness captures eprintln!.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n\n*** SKIPPED: {port_var} is not set: the {engine} database steps were NOT run against a real server. Run `eval \"$(.ci/db-servers start /tmp/topoc-dbs)\"` first (.ci/run does). ***\n"
        );
        return None;
    };
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is set"));
    Some(Servers {
        engine,
        port,
        admin: if engine == "postgres" {
            "postgres"
        } else {
            "root"
        },
        password: var("TOPOC_DB_ADMIN_PASSWORD"),
        replication_user: var("TOPOC_DB_REPLICATION_USER"),
        replication_password: var("TOPOC_DB_REPLICATION_PASSWORD"),
    })
}

impl Servers {
    fn postgres(&self) -> bool {
        self.engine == "postgres"
    }

    /// SQL run as the administrator on a server's database; its output.
    fn sql(&self, host: &str, db: &str, sql: &str) -> String {
        let out = self.try_sql(host, db, sql, self.admin, &self.password.clone());
        assert!(
            out.status.success(),
            "{host}/{db}: {sql}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn try_sql(&self, host: &str, db: &str, sql: &str, user: &str, password: &str) -> Output {
        let mut cmd = if self.postgres() {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
                .arg(format!("--host={host}"))
                .arg(format!("--port={}", self.port))
                .arg(format!("--username={user}"))
                .arg(format!(
                    "--dbname={}",
                    if db.is_empty() { "postgres" } else { db }
                ))
                .env("PGPASSWORD", password);
            c
        } else {
            let mut c = Command::new("mariadb");
            c.args(["--no-defaults", "--batch", "--skip-column-names"])
                .arg(format!("--host={host}"))
                .arg(format!("--port={}", self.port))
                .arg(format!("--user={user}"))
                .env("MYSQL_PWD", password);
            if !db.is_empty() {
                c.arg(db);
            }
            c
        };
        let sql = if self.postgres() {
            sql.to_string()
        } else {
            format!("SET time_zone = '+00:00'; {sql}")
        };
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("the client runs");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(sql.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// A database of the application user `apim`, empty, on a server.
    fn fresh_database(&self, host: &str, db: &str) {
        if self.postgres() {
            self.sql(
                host,
                "",
                &format!(
                    "DROP DATABASE IF EXISTS {db} WITH (FORCE); DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'apim') THEN CREATE ROLE apim LOGIN PASSWORD 'apim-pw'; END IF; END$$;"
                ),
            );
            self.sql(host, "", &format!("CREATE DATABASE {db} OWNER apim"));
        } else {
            self.sql(
                host,
                "",
                &format!(
                    "DROP DATABASE IF EXISTS {db}; CREATE DATABASE {db} CHARACTER SET latin1; CREATE USER IF NOT EXISTS apim@'%' IDENTIFIED BY 'apim-pw'; GRANT ALL PRIVILEGES ON {db}.* TO apim@'%';"
                ),
            );
        }
    }

    /// WSO2's tables (the fixture's subset) loaded as the application user.
    fn load_schema(&self, host: &str, db: &str, shared: bool) {
        let file = match (self.postgres(), shared) {
            (true, false) => "postgresql.sql",
            (true, true) => "postgresql-shared.sql",
            (false, false) => "mysql.sql",
            (false, true) => "mysql-shared.sql",
        };
        let script = std::fs::read_to_string(fixture(file)).unwrap();
        let out = self.try_sql(host, db, &script, "apim", "apim-pw");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The rows of a query, one line each, sorted.
    fn rows(&self, host: &str, db: &str, sql: &str) -> Vec<String> {
        let mut rows: Vec<String> = self
            .sql(host, db, sql)
            .lines()
            .map(|l| l.replace('\t', "|"))
            .filter(|l| !l.is_empty())
            .collect();
        rows.sort();
        rows
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/db")
        .join(name)
}

/// The plan of a topology, as JSON.
fn plan(topology: &str, args: &[&str]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("db.topo");
    std::fs::write(&file, topology).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_topoc"))
        .arg("plan")
        .arg(&file)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The first step with this action whose title contains `title`.
fn step<'a>(plan: &'a Value, action: &str, title: &str) -> &'a Value {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["action"] == action && s["title"].as_str().unwrap().contains(title))
        .unwrap_or_else(|| panic!("a step {action} `{title}` in {plan:#}"))
}

fn lines(step: &Value, key: &str) -> Vec<String> {
    step[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// Commands pasted into one bash, stopping at the first that fails.
fn bash(commands: &[String], env: &[(String, String)], dir: &Path) -> Output {
    let script = format!("set -e\n{}\n", commands.join("\n"));
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(&script).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn ok(what: &str, out: &Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn fails(what: &str, out: &Output) {
    assert!(
        !out.status.success(),
        "{what} passed before its step ran\nstdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Run a step as the operator: its verification alone fails, its commands
/// run, its verification passes; the output of the commands.
fn run_step(step: &Value, env: &[(String, String)], dir: &Path) -> String {
    let title = step["title"].as_str().unwrap();
    fails(
        &format!("the verification of `{title}`"),
        &bash(&lines(step, "verify"), env, dir),
    );
    let out = ok(title, &bash(&lines(step, "commands"), env, dir));
    ok(
        &format!("the verification of `{title}`"),
        &bash(&lines(step, "verify"), env, dir),
    );
    out
}

// --- the first deployment's databases ----------------------------------

/// The bootstrap's database steps on an empty server: each database and
/// its user are created, then WSO2's schema is loaded from the product's
/// `dbscripts` (here the fixtures, at the paths of the pack); the
/// verifications fail first, and the steps run again change nothing.
fn bootstrap_creates_the_schema(engine: &'static str) {
    let Some(s) = servers(engine) else {
        return;
    };
    let db = format!("boot_{engine}");
    let shared = format!("{db}_shared");
    for name in [&db, &shared] {
        let drop = if s.postgres() {
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        } else {
            format!("DROP DATABASE IF EXISTS {name}")
        };
        s.sql(SOURCE, "", &drop);
    }
    let mut runbook = s.clone();
    runbook.engine = engine;
    // An application user of its own: the token sync tests create `apim`
    // on this server at the same time.
    let topology = migration_topology(&runbook, &db).replace("user = \"apim\"", "user = \"boot\"");
    let plan = plan(&topology, &["--bootstrap"]);
    // The product's pack, as far as the steps read it.
    let home = tempfile::tempdir().unwrap();
    let (apim, common) = if s.postgres() {
        ("postgresql.sql", "postgresql-shared.sql")
    } else {
        ("mysql.sql", "mysql-shared.sql")
    };
    let scripts = home.path().join("dbscripts");
    std::fs::create_dir_all(scripts.join("apimgt")).unwrap();
    std::fs::copy(
        fixture(apim),
        scripts.join("apimgt").join(apim.replace("-shared", "")),
    )
    .unwrap();
    std::fs::copy(fixture(common), scripts.join(common.replace("-shared", ""))).unwrap();
    let work = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("APIM_DB_PASSWORD", "apim-pw"),
        ("DB_ADMIN_PASSWORD", s.password.as_str()),
        ("PRODUCT_HOME", home.path().to_str().unwrap()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let dir = work.path();
    for name in ["apim_db", "shared_db"] {
        let create = step(&plan, "create-db", name);
        let load = step(&plan, "load-schema", name);
        run_step(create, &env, dir);
        run_step(load, &env, dir);
        ok(
            "the database steps run again",
            &bash(
                &[lines(create, "commands"), lines(load, "commands")].concat(),
                &env,
                dir,
            ),
        );
        ok(
            "their verifications after the second run",
            &bash(
                &[lines(create, "verify"), lines(load, "verify")].concat(),
                &env,
                dir,
            ),
        );
    }
    // The application user owns what was loaded: it writes there.
    let table = if s.postgres() { "am_api" } else { "AM_API" };
    let out = s.try_sql(
        SOURCE,
        &db,
        &format!("SELECT COUNT(*) FROM {table}"),
        "boot",
        "apim-pw",
    );
    ok("the application user reads its tables", &out);
}

#[test]
fn postgres_bootstrap_creates_the_schema() {
    bootstrap_creates_the_schema("postgres");
}

#[test]
fn mariadb_bootstrap_creates_the_schema() {
    bootstrap_creates_the_schema("mariadb");
}

// --- the token sync of a migration -------------------------------------

fn migration_topology(s: &Servers, db: &str) -> String {
    format!(
        r#"topology tokens {{
  product = wso2-apim
  version = "4.2.0"
  peak_load = 100rps
}}

datacenter main {{
  role = primary
  domain = "tokens.example"

  datasource apim_db {{
    purpose = apim
    engine = {engine}
    host = "{SOURCE}"
    port = {port}
    database = "{db}"
    user = "apim"
    password = secret("apim-db-password")
    admin_user = "{admin}"
    admin_password = secret("db-admin-password")
    driver = "driver.jar"
  }}

  datasource shared_db {{
    purpose = shared
    engine = {engine}
    host = "{SOURCE}"
    port = {port}
    database = "{db}_shared"
    user = "apim"
    password = secret("apim-db-password")
    admin_user = "{admin}"
    admin_password = secret("db-admin-password")
    driver = "driver.jar"
  }}

  cluster apim {{
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 100rps
    datasources = [apim_db, shared_db]
  }}

  load_balancer portal {{
    hostname = "portal.tokens.example"
    fronts = [apim]
  }}
}}

upgrade move {{
  kind = migration
  to_version = "4.5.0"
  read_only_window = 1h
  token_sync = one-way
}}
"#,
        engine = s.engine,
        port = s.port,
        admin = s.admin,
    )
}

/// WSO2's writes: tokens with scopes (and some with a binding and a
/// request object), at a time (UTC).
struct Issue<'a> {
    id: &'a str,
    app: u32,
    user: &'a str,
    at: &'a str,
    scopes: u32,
}

fn issue(s: &Servers, db: &str, t: &Issue) {
    let mut sql = format!(
        "INSERT INTO IDN_OAUTH2_ACCESS_TOKEN (TOKEN_ID, ACCESS_TOKEN, REFRESH_TOKEN, CONSUMER_KEY_ID, AUTHZ_USER, TENANT_ID, USER_DOMAIN, USER_TYPE, GRANT_TYPE, TIME_CREATED, REFRESH_TOKEN_TIME_CREATED, VALIDITY_PERIOD, REFRESH_TOKEN_VALIDITY_PERIOD, TOKEN_SCOPE_HASH, TOKEN_STATE, TOKEN_STATE_ID, SUBJECT_IDENTIFIER, ACCESS_TOKEN_HASH, REFRESH_TOKEN_HASH) VALUES ('{id}', 'at-{id}', 'rt-{id}', {app}, '{user}', -1234, 'PRIMARY', 'APPLICATION_USER', 'password', '{at}', '{at}', 3600000, 86400000, 'hash-{user}', 'ACTIVE', 'NONE', '{user}', 'ath-{id}', 'rth-{id}');",
        id = t.id,
        app = t.app,
        user = t.user,
        at = t.at
    );
    for n in 0..t.scopes {
        sql.push_str(&format!(
            " INSERT INTO IDN_OAUTH2_ACCESS_TOKEN_SCOPE (TOKEN_ID, TOKEN_SCOPE, TENANT_ID) VALUES ('{}', 'scope{n}', -1234);",
            t.id
        ));
    }
    s.sql(SOURCE, db, &sql);
}

/// A revocation without WSO2's clean-up: the row changes state.
fn revoke(s: &Servers, db: &str, id: &str) {
    s.sql(
        SOURCE,
        db,
        &format!("UPDATE IDN_OAUTH2_ACCESS_TOKEN SET TOKEN_STATE = 'REVOKED', TOKEN_STATE_ID = 'revoked-{id}' WHERE TOKEN_ID = '{id}';"),
    );
}

/// A refresh: the old token leaves ACTIVE (state change, or WSO2's
/// clean-up moves it to the audit table), a new one takes its place.
fn refresh(s: &Servers, db: &str, old: &str, new: &Issue, cleanup: bool) {
    if cleanup {
        s.sql(
            SOURCE,
            db,
            &format!(
                "INSERT INTO IDN_OAUTH2_ACCESS_TOKEN_AUDIT (TOKEN_ID, ACCESS_TOKEN, REFRESH_TOKEN, CONSUMER_KEY_ID, AUTHZ_USER, TENANT_ID, USER_DOMAIN, USER_TYPE, GRANT_TYPE, TIME_CREATED, REFRESH_TOKEN_TIME_CREATED, VALIDITY_PERIOD, REFRESH_TOKEN_VALIDITY_PERIOD, TOKEN_SCOPE_HASH, TOKEN_STATE, TOKEN_STATE_ID, SUBJECT_IDENTIFIER, ACCESS_TOKEN_HASH, REFRESH_TOKEN_HASH, INVALIDATED_TIME, IDP_ID) SELECT TOKEN_ID, ACCESS_TOKEN, REFRESH_TOKEN, CONSUMER_KEY_ID, AUTHZ_USER, TENANT_ID, USER_DOMAIN, USER_TYPE, GRANT_TYPE, TIME_CREATED, REFRESH_TOKEN_TIME_CREATED, VALIDITY_PERIOD, REFRESH_TOKEN_VALIDITY_PERIOD, TOKEN_SCOPE_HASH, 'INACTIVE', 'refreshed-{old}', SUBJECT_IDENTIFIER, ACCESS_TOKEN_HASH, REFRESH_TOKEN_HASH, '{at}', IDP_ID FROM IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_ID = '{old}'; DELETE FROM IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_ID = '{old}';",
                at = new.at
            ),
        );
    } else {
        s.sql(
            SOURCE,
            db,
            &format!("UPDATE IDN_OAUTH2_ACCESS_TOKEN SET TOKEN_STATE = 'INACTIVE', TOKEN_STATE_ID = 'refreshed-{old}' WHERE TOKEN_ID = '{old}';"),
        );
    }
    issue(s, db, new);
}

fn revoke_jwt(s: &Servers, db: &str, uuid: &str, expiry_ms: u64) {
    s.sql(
        SOURCE,
        db,
        &format!("INSERT INTO AM_REVOKED_JWT (UUID, SIGNATURE, EXPIRY_TIMESTAMP, TENANT_ID, TOKEN_TYPE) VALUES ('{uuid}', 'sig-{uuid}', {expiry_ms}, -1234, 'DEFAULT');"),
    );
}

/// Everything the sync keeps in step, as sorted lines, on one side.
fn tokens_state(s: &Servers, host: &str, db: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (table, sql) in [
        (
            "token",
            "SELECT TOKEN_ID, TOKEN_STATE, TOKEN_STATE_ID, CONSUMER_KEY_ID, AUTHZ_USER, TIME_CREATED FROM IDN_OAUTH2_ACCESS_TOKEN",
        ),
        (
            "scope",
            "SELECT TOKEN_ID, TOKEN_SCOPE FROM IDN_OAUTH2_ACCESS_TOKEN_SCOPE",
        ),
        (
            "binding",
            "SELECT TOKEN_ID, TOKEN_BINDING_TYPE, TOKEN_BINDING_VALUE FROM IDN_OAUTH2_TOKEN_BINDING",
        ),
        (
            "request",
            "SELECT TOKEN_ID, SESSION_DATA_KEY FROM IDN_OIDC_REQ_OBJECT_REFERENCE",
        ),
        (
            "audit",
            "SELECT TOKEN_ID, TOKEN_STATE FROM IDN_OAUTH2_ACCESS_TOKEN_AUDIT",
        ),
        ("jwt", "SELECT UUID, EXPIRY_TIMESTAMP FROM AM_REVOKED_JWT"),
    ] {
        out.extend(
            s.rows(host, db, sql)
                .into_iter()
                .map(|r| format!("{table}|{r}")),
        );
    }
    out.sort();
    out
}

fn count(rows: &[String], table: &str) -> usize {
    rows.iter()
        .filter(|r| r.starts_with(&format!("{table}|")))
        .count()
}

fn token_sync_loses_nothing(engine: &'static str, db: &str) {
    let Some(s) = servers(if engine == "postgres" {
        "postgres"
    } else {
        "mariadb"
    }) else {
        return;
    };
    // The runbook's engine (mysql: MySQL's commands, run here with the
    // MariaDB client and server).
    let mut runbook = s.clone();
    runbook.engine = engine;
    let shared = format!("{db}_shared");
    for host in [SOURCE, TARGET] {
        s.fresh_database(host, db);
        s.fresh_database(host, &shared);
    }
    s.load_schema(SOURCE, db, false);
    s.load_schema(SOURCE, &shared, true);
    // Applications, an authorization code, and what was issued before the
    // window: 20 tokens with 2 scopes, bindings, request objects, and
    // revoked JWTs (one expired before the window).
    s.sql(
        SOURCE,
        db,
        "INSERT INTO IDN_OAUTH_CONSUMER_APPS (ID, CONSUMER_KEY, APP_NAME, USERNAME) VALUES (1, 'ck1', 'app1', 'admin'), (2, 'ck2', 'app2', 'admin'), (3, 'ck3', 'app3', 'admin'); INSERT INTO IDN_OAUTH2_AUTHORIZATION_CODE (CODE_ID, AUTHORIZATION_CODE, CONSUMER_KEY_ID, TIME_CREATED, VALIDITY_PERIOD) VALUES ('code-1', 'c1', 1, '2024-06-01 09:00:00', 300000);",
    );
    let ids: Vec<String> = (1..=20).map(|i| format!("a{i:02}")).collect();
    for (i, id) in ids.iter().enumerate() {
        issue(
            &s,
            db,
            &Issue {
                id,
                app: 1 + (i as u32 % 3),
                user: &format!("user-{id}"),
                at: &format!("2024-06-01 09:{:02}:00", i + 10),
                scopes: 2,
            },
        );
    }
    s.sql(
        SOURCE,
        db,
        "INSERT INTO IDN_OAUTH2_TOKEN_BINDING (TOKEN_ID, TOKEN_BINDING_TYPE, TOKEN_BINDING_REF, TOKEN_BINDING_VALUE, TENANT_ID) VALUES ('a01', 'cookie', 'ref-a01', 'v-a01', -1234); INSERT INTO IDN_OIDC_REQ_OBJECT_REFERENCE (CONSUMER_KEY_ID, CODE_ID, TOKEN_ID, SESSION_DATA_KEY) VALUES (1, 'code-1', 'a02', 'session-a02');",
    );
    revoke_jwt(&s, db, "jwt-old-expired", 1_717_200_000_000);
    revoke_jwt(&s, db, "jwt-before", 1_893_456_000_000);
    // The window opens at 10:00 UTC: the portals are read-only, tokens are
    // still issued, revoked and refreshed. Ten before the dump.
    for i in 1..=10 {
        issue(
            &s,
            db,
            &Issue {
                id: &format!("b{i:02}"),
                app: 1 + (i % 3),
                user: &format!("user-b{i:02}"),
                at: &format!("2024-06-01 10:{:02}:00", i),
                scopes: 2,
            },
        );
    }
    let plan = plan(&migration_topology(&runbook, db), &["--upgrade", "move"]);
    let work = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("APIM_DB_PASSWORD", "apim-pw"),
        ("DB_ADMIN_PASSWORD", s.password.as_str()),
        ("NEW_DB_HOST", TARGET),
        ("WINDOW_START", WINDOW_START),
        ("NEW_ENDPOINT", "localhost"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let dir = work.path();
    for name in ["apim_db", "shared_db"] {
        run_step(step(&plan, "dump", name), &env, dir);
    }
    // After the dump: 15 more tokens with 3 scopes, a revoked JWT, three
    // revocations and five refreshes of tokens issued before the window
    // (two by WSO2's clean-up, which moves the old row to the audit table),
    // a revocation of one issued in the window.
    for i in 1..=15 {
        issue(
            &s,
            db,
            &Issue {
                id: &format!("c{i:02}"),
                app: 1 + (i % 3),
                user: &format!("user-c{i:02}"),
                at: &format!("2024-06-01 10:{:02}:00", 10 + i),
                scopes: 3,
            },
        );
    }
    // Two of them with a binding and a request object (WSO2 writes those
    // beside the token).
    s.sql(
        SOURCE,
        db,
        "INSERT INTO IDN_OAUTH2_TOKEN_BINDING (TOKEN_ID, TOKEN_BINDING_TYPE, TOKEN_BINDING_REF, TOKEN_BINDING_VALUE, TENANT_ID) VALUES ('c04', 'cookie', 'ref-c04', 'v-c04', -1234); INSERT INTO IDN_OIDC_REQ_OBJECT_REFERENCE (CONSUMER_KEY_ID, CODE_ID, TOKEN_ID, SESSION_DATA_KEY) VALUES (1, 'code-1', 'c05', 'session-c05');",
    );
    revoke_jwt(&s, db, "jwt-during", 1_893_456_000_000);
    for id in ["a03", "a04", "a05"] {
        revoke(&s, db, id);
    }
    for (n, old) in ["a06", "a07", "a08", "a09", "a10"].iter().enumerate() {
        let new = format!("r{}", &old[1..]);
        refresh(
            &s,
            db,
            old,
            &Issue {
                id: &new,
                app: 1 + ((old[1..].parse::<u32>().unwrap() - 1) % 3),
                user: &format!("user-{old}"),
                at: &format!("2024-06-01 10:4{n}:00"),
                scopes: 2,
            },
            n < 2,
        );
    }
    revoke(&s, db, "b01");
    for name in ["apim_db", "shared_db"] {
        let restore = step(&plan, "restore", name);
        run_step(restore, &env, dir);
        // A second run loads the dump again over the first.
        let loaded = tokens_state(&s, TARGET, db);
        ok(
            "the restore again",
            &bash(&lines(restore, "commands"), &env, dir),
        );
        ok(
            "its verification",
            &bash(&lines(restore, "verify"), &env, dir),
        );
        assert_eq!(
            tokens_state(&s, TARGET, db),
            loaded,
            "{engine}: a second restore"
        );
    }
    // The migration client adds a column (the new version's schema).
    s.sql(
        TARGET,
        db,
        "ALTER TABLE IDN_OAUTH2_ACCESS_TOKEN ADD CONSENTED_TOKEN VARCHAR(6);",
    );
    let sync = step(&plan, "token-sync", "");
    let before_source = tokens_state(&s, SOURCE, db);
    let before_target = tokens_state(&s, TARGET, db);
    assert_ne!(
        before_source, before_target,
        "the dump missed the window's changes"
    );
    let out = run_step(sync, &env, dir);
    eprintln!("{engine}: first sync: {}", out.replace('\n', " "));
    let after = tokens_state(&s, TARGET, db);
    assert_eq!(
        tokens_state(&s, SOURCE, db),
        after,
        "{engine}: the new database holds everything the current one does"
    );
    eprintln!(
        "{engine}: source {} tokens, {} scope rows, {} audited, {} revoked JWTs; target before the sync {} tokens, {} scope rows; after {} tokens, {} scope rows, {} bindings, {} request objects, {} revoked JWTs",
        count(&before_source, "token"),
        count(&before_source, "scope"),
        count(&before_source, "audit"),
        count(&before_source, "jwt"),
        count(&before_target, "token"),
        count(&before_target, "scope"),
        count(&after, "token"),
        count(&after, "scope"),
        count(&after, "binding"),
        count(&after, "request"),
        count(&after, "jwt"),
    );
    // Revoked and refreshed tokens issued before the window are not
    // ACTIVE in the new database; the refreshed ones' successors are.
    let states = s.rows(
        TARGET,
        db,
        "SELECT TOKEN_ID, TOKEN_STATE FROM IDN_OAUTH2_ACCESS_TOKEN WHERE TOKEN_ID IN ('a03', 'a08', 'b01', 'r06', 'a06')",
    );
    assert_eq!(
        states,
        ["a03|REVOKED", "a08|INACTIVE", "b01|REVOKED", "r06|ACTIVE"],
        "{engine}"
    );
    // A second run changes nothing.
    let commands = lines(sync, "commands");
    let again = ok("the token sync again", &bash(&commands[..1], &env, dir));
    assert!(
        again.lines().all(|l| l.ends_with("=0")),
        "{engine}: a second run changed {again}"
    );
    assert_eq!(
        tokens_state(&s, TARGET, db),
        after,
        "{engine}: a rerun changed nothing"
    );
    // Until the DNS switch settles, the current deployment goes on: the
    // verification sees what the sync has not copied yet, the next run
    // copies it.
    for i in 1..=5 {
        issue(
            &s,
            db,
            &Issue {
                id: &format!("d{i:02}"),
                app: 1 + (i % 3),
                user: &format!("user-d{i:02}"),
                at: &format!("2024-06-01 11:{:02}:00", i),
                scopes: 2,
            },
        );
    }
    revoke(&s, db, "c01");
    refresh(
        &s,
        db,
        "c02",
        &Issue {
            id: "rc02",
            app: 3,
            user: "user-c02",
            at: "2024-06-01 11:30:00",
            scopes: 3,
        },
        true,
    );
    revoke_jwt(&s, db, "jwt-after", 1_893_456_000_000);
    // A read that fails half-way (the last table the source prints is
    // gone): the run fails and the target keeps what it had, nothing of
    // the tables printed before the failure.
    let held = tokens_state(&s, TARGET, db);
    s.sql(
        SOURCE,
        db,
        "ALTER TABLE AM_REVOKED_JWT RENAME TO AM_REVOKED_JWT_AWAY;",
    );
    fails("a sync whose read fails", &bash(&commands[..1], &env, dir));
    assert_eq!(
        tokens_state(&s, TARGET, db),
        held,
        "{engine}: a failed read commits nothing"
    );
    s.sql(
        SOURCE,
        db,
        "ALTER TABLE AM_REVOKED_JWT_AWAY RENAME TO AM_REVOKED_JWT;",
    );
    fails(
        "the verification after more tokens",
        &bash(&lines(sync, "verify"), &env, dir),
    );
    let out = ok("the token sync, later", &bash(&commands[..1], &env, dir));
    eprintln!("{engine}: later sync: {}", out.replace('\n', " "));
    ok(
        "the verification after the later sync",
        &bash(&lines(sync, "verify"), &env, dir),
    );
    assert_eq!(
        tokens_state(&s, SOURCE, db),
        tokens_state(&s, TARGET, db),
        "{engine}: nothing lost after the later sync"
    );
    // The repeated sync started in the background stops on the rollback.
    let pid = dir.join("dumps/token-sync.pid");
    assert!(pid.exists(), "the repeated sync runs");
    ok("the rollback", &bash(&lines(sync, "rollback"), &env, dir));
    assert!(!pid.exists());
}

#[test]
fn postgres_token_sync_loses_nothing() {
    token_sync_loses_nothing("postgres", "apim_pg");
}

#[test]
fn mariadb_token_sync_loses_nothing() {
    token_sync_loses_nothing("mariadb", "apim_maria");
}

/// MySQL's commands (the `mysql` clients) against MariaDB: the same SQL.
#[test]
fn mysql_token_sync_loses_nothing_on_mariadb() {
    token_sync_loses_nothing("mysql", "apim_my");
}

// --- a failover -----------------------------------------------------------

/// The multi-datacenter example on the failover servers: colombo's
/// databases on the primary, singapore's on its standby, london's on its
/// follower.
fn failover_topology(s: &Servers) -> String {
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/multi-datacenter.topo"),
    )
    .unwrap();
    let mut text = example
        .replace("\"mysql.colombo.telco.example\"", &format!("\"{PRIMARY}\""))
        .replace(
            "\"mysql.singapore.telco.example\"",
            &format!("\"{STANDBY}\""),
        )
        .replace("\"mysql.london.telco.example\"", &format!("\"{FOLLOWER}\""))
        .replace("engine = mysql", &format!("engine = {}", s.engine));
    // Every datasource: the servers' administrator; the replicated ones:
    // the replication role.
    text = text.replace(
        "    host = \"",
        &format!(
            "    port = {}\n    admin_user = \"{}\"\n    admin_password = secret(\"db-admin-password\")\n    host = \"",
            s.port, s.admin
        ),
    );
    text.replace(
        "    driver = \"mysql-connector-j-8.4.0.jar\"",
        &format!(
            "    driver = \"mysql-connector-j-8.4.0.jar\"\n    replication_user = \"{}\"\n    replication_password = secret(\"replication-password\")",
            s.replication_user
        ),
    )
}

fn failover_runs(engine: &'static str) {
    let Some(s) = servers(engine) else {
        return;
    };
    let script = std::env::var("TOPOC_DB_SERVERS").expect("TOPOC_DB_SERVERS is set");
    let dir = std::env::var("TOPOC_DB_DIR").expect("TOPOC_DB_DIR is set");
    let reset = Command::new(&script)
        .args(["reset", if s.postgres() { "pg" } else { "mariadb" }, &dir])
        .output()
        .unwrap();
    ok("the failover servers' reset", &reset);
    for db in ["apim_db", "shared_db"] {
        s.fresh_database(PRIMARY, db);
    }
    s.load_schema(PRIMARY, "apim_db", false);
    s.load_schema(PRIMARY, "shared_db", true);
    s.sql(
        PRIMARY,
        "apim_db",
        "INSERT INTO AM_API (API_UUID, API_PROVIDER, API_NAME, API_VERSION, CONTEXT) VALUES ('u1', 'admin', 'Pizza', '1.0', '/pizza');",
    );
    let replicated = |host: &str, sql: &str, want: &str| {
        for _ in 0..60 {
            let out = s.try_sql(host, "apim_db", sql, s.admin, &s.password);
            if String::from_utf8_lossy(&out.stdout).trim() == want {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
        panic!("{host} never answered {want} to {sql}");
    };
    let apis = "SELECT COUNT(*) FROM AM_API";
    replicated(STANDBY, apis, "1");
    replicated(FOLLOWER, apis, "1");
    let plan = plan(&failover_topology(&s), &["--failover", "singapore"]);
    let actions: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "fence-db", "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "promote-db").count(),
        1,
        "one promotion for singapore's one server: {actions:?}"
    );
    let work = tempfile::tempdir().unwrap();
    let env: Vec<(String, String)> = [
        ("DB_ADMIN_PASSWORD", s.password.as_str()),
        ("REPLICATION_PASSWORD", s.replication_password.as_str()),
        ("APIM_DB_PASSWORD", "apim-pw"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let wd = work.path();
    // The lost primary still answers: it is fenced, its writers refused.
    run_step(step(&plan, "fence-db", ""), &env, wd);
    let write = "INSERT INTO AM_API (API_UUID, API_PROVIDER, API_NAME, API_VERSION, CONTEXT) VALUES ('u2', 'admin', 'Menu', '1.0', '/menu');";
    assert!(
        !s.try_sql(PRIMARY, "apim_db", write, "apim", "apim-pw")
            .status
            .success(),
        "the fenced primary refuses the application's writes"
    );
    let promote = step(&plan, "promote-db", "");
    run_step(promote, &env, wd);
    ok(
        "a write on the promoted server",
        &s.try_sql(STANDBY, "apim_db", write, "apim", "apim-pw"),
    );
    // london's replicas follow singapore: the follower streams the write.
    let follows: Vec<&Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|st| {
            st["action"] == "start-sync"
                && st["title"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Replicate "))
        })
        .collect();
    assert_eq!(follows.len(), 2, "one re-pointed replica per database");
    run_step(follows[0], &env, wd);
    // The second database is on the same server: a second run holds.
    ok(
        "the second replica's step",
        &bash(&lines(follows[1], "commands"), &env, wd),
    );
    ok(
        "the second replica's verification",
        &bash(&lines(follows[1], "verify"), &env, wd),
    );
    replicated(FOLLOWER, apis, "2");
    // The promotion and the fence run again without harm.
    ok(
        "the promotion again",
        &bash(&lines(promote, "commands"), &env, wd),
    );
    ok(
        "its verification",
        &bash(&lines(promote, "verify"), &env, wd),
    );
    let fence = step(&plan, "fence-db", "");
    ok(
        "the fence again",
        &bash(&lines(fence, "commands"), &env, wd),
    );
    ok("its verification", &bash(&lines(fence, "verify"), &env, wd));
    ok(
        "the promoted server still takes writes",
        &s.try_sql(
            STANDBY,
            "apim_db",
            "INSERT INTO AM_API (API_UUID, API_PROVIDER, API_NAME, API_VERSION, CONTEXT) VALUES ('u3', 'admin', 'Bill', '1.0', '/bill');",
            "apim",
            "apim-pw",
        ),
    );
    replicated(FOLLOWER, apis, "3");
}

#[test]
fn postgres_failover_runs() {
    failover_runs("postgres");
}

#[test]
fn mariadb_failover_runs() {
    failover_runs("mariadb");
}
