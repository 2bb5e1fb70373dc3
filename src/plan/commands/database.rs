//! The database steps, with each engine's own client, run from where the
//! runbook runs: create a database and its user, load WSO2's schema, dump,
//! restore as a copy, migrate, promote a replica, re-point a replica, keep
//! access tokens in step. A password is read from the variable of its
//! secret, through the client's own environment variable (never a command
//! line). SQL Server and Oracle steps the engine's administrator must do
//! (availability groups, Data Guard) are marked manual, with a check that
//! they were done where one exists.

mod failover;
mod token_sync;

use super::{Commands, Ctx, Unresolved, output_is, q};
use crate::deployment::DatabasePlan;
use crate::model::{Engine, Purpose, UpgradeKind};
use crate::plan::Action;

pub(super) use failover::{fence, replicate};

/// The databases a step names, in its order (see `Draft::databases`).
fn named<'a>(ctx: &Ctx<'a>) -> Result<Vec<&'a DatabasePlan>, Unresolved> {
    let all: Vec<&DatabasePlan> = ctx
        .input
        .deployment
        .sites
        .iter()
        .flat_map(|s| s.clusters.iter())
        .flat_map(|c| c.databases.iter())
        .collect();
    ctx.draft
        .databases
        .iter()
        .map(|name| {
            all.iter()
                .copied()
                .find(|db| &db.name == name)
                .ok_or_else(|| Unresolved(format!("no cluster uses datasource `{name}`")))
        })
        .collect()
}

/// The first database a step names.
fn first<'a>(ctx: &Ctx<'a>) -> Result<&'a DatabasePlan, Unresolved> {
    named(ctx)?
        .into_iter()
        .next()
        .ok_or_else(|| Unresolved(format!("`{}` names no database", ctx.draft.title)))
}

/// MySQL or MariaDB: one SQL dialect, each with its own client programs.
fn mysql_like(engine: Engine) -> bool {
    matches!(engine, Engine::Mysql | Engine::Mariadb)
}

/// The engine's client programs: its SQL shell, its dump and its admin
/// tool (MariaDB's own names: its `mysql*` links are deprecated and its
/// dump refuses MySQL's options).
fn programs(engine: Engine) -> (&'static str, &'static str, &'static str) {
    match engine {
        Engine::Mariadb => ("mariadb", "mariadb-dump", "mariadb-admin"),
        Engine::Postgres => ("psql", "pg_dump", "pg_restore"),
        Engine::Mssql => ("sqlcmd", "sqlpackage", "sqlpackage"),
        _ => ("mysql", "mysqldump", "mysqladmin"),
    }
}

/// The client's password variable for an engine.
fn password_var(engine: Engine) -> &'static str {
    match engine {
        Engine::Mysql | Engine::Mariadb => "MYSQL_PWD",
        Engine::Postgres => "PGPASSWORD",
        Engine::Mssql => "SQLCMDPASSWORD",
        Engine::Oracle => "ORACLE_PWD",
    }
}

/// The client's password variable, set from the secret's.
fn client_env(db: &DatabasePlan) -> String {
    format!("{}=\"${{{}:?}}\"", password_var(db.engine), db.password.env)
}

/// The copy of a database a version upgrade migrates.
fn copy_name(db: &DatabasePlan, to: &str) -> String {
    format!("{}_{}", db.database, to.replace('.', "_"))
}

/// A SQL string literal's text.
fn sql_text(text: &str) -> String {
    text.replace('\'', "''")
}

/// A MySQL string literal.
fn mysql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A MySQL identifier.
fn mysql_identifier(text: &str) -> String {
    format!("`{}`", text.replace('`', "``"))
}

/// A shell expression that expands to the value of variable `var` as a
/// SQL string literal (`'...'`, quotes doubled; backslashes doubled too for
/// MySQL and MariaDB), for SQL fed to a client on standard input: a
/// password never reaches a command line.
fn secret_literal(var: &str, engine: Engine) -> String {
    let backslashes = if mysql_like(engine) {
        "-e 's/\\\\/\\\\\\\\/g' "
    } else {
        ""
    };
    format!("\"'$(printf '%s' \"${{{var}:?}}\" | sed {backslashes}-e \"s/'/''/g\")'\"")
}

/// The connection of a client to one database on a server (`host` is a
/// shell word or a variable), as a user whose password is in a variable.
#[derive(Clone)]
struct Client<'a> {
    db: &'a DatabasePlan,
    host: String,
    /// The database, a shell word.
    name: String,
    /// The user, a shell word.
    user: String,
    /// The variable holding the user's password.
    password: String,
}

impl<'a> Client<'a> {
    fn new(db: &'a DatabasePlan) -> Self {
        Client {
            db,
            host: q(&db.host),
            name: q(&db.database),
            user: q(&db.user),
            password: db.password.env.clone(),
        }
    }

    /// The same server, another database (a shell word).
    fn on(&self, host: &str, name: &str) -> Client<'a> {
        Client {
            host: host.to_string(),
            name: name.to_string(),
            ..self.clone()
        }
    }

    /// The same connection as the server's administrator.
    fn admin(&self, ctx: &Ctx) -> Client<'a> {
        let (user, password) = admin(ctx, &self.db.name);
        Client {
            user,
            password,
            ..self.clone()
        }
    }

    /// The password variable of the client, set.
    fn env(&self) -> String {
        format!(
            "{}=\"${{{}:?}}\"",
            password_var(self.db.engine),
            self.password
        )
    }

    /// The engine's SQL shell on the database, reading SQL from its
    /// standard input (stopping at the first error).
    fn shell(&self) -> String {
        let (env, port, host, user, name) =
            (self.env(), self.db.port, &self.host, &self.user, &self.name);
        match self.db.engine {
            Engine::Postgres => format!(
                "{env} psql -X -q --no-align --tuples-only -v ON_ERROR_STOP=1 --host={host} --port={port} --username={user} --dbname={name}"
            ),
            engine => format!(
                "{env} {} --host={host} --port={port} --user={user} --batch --skip-column-names {name}",
                programs(engine).0
            ),
        }
    }

    /// The engine's SQL client on the database, with a query whose
    /// output is its one value.
    fn value(&self, sql: &str) -> String {
        let (db, host, name) = (self.db, &self.host, &self.name);
        let (env, port, user) = (self.env(), db.port, &self.user);
        match db.engine {
            Engine::Mysql | Engine::Mariadb => format!(
                "{env} {} --host={host} --port={port} --user={user} --skip-column-names --batch --execute={} {name}",
                programs(db.engine).0,
                q(sql)
            ),
            Engine::Postgres => format!(
                "{env} psql -X --host={host} --port={port} --username={user} --dbname={name} --tuples-only --no-align --command={}",
                q(sql)
            ),
            Engine::Mssql => format!(
                "{env} sqlcmd -S {host},{port} -U {user} -C -d {name} -h -1 -W -b -Q {}",
                q(&format!("SET NOCOUNT ON; {sql}"))
            ),
            Engine::Oracle => format!(
                "{{ printf 'connect %s/\"%s\"@%s\\n' {user} \"${{{}:?}}\" {}; echo {}; }} | sqlplus -S -L /nolog | tr -d ' '",
                self.password,
                q(&format!("//{}:{port}/{}", db.host, db.database)),
                q(&format!(
                    "WHENEVER SQLERROR EXIT FAILURE\nSET HEADING OFF FEEDBACK OFF\n{sql};"
                ))
            ),
        }
    }

    /// `value`, with the shell variable `var` in place of `placeholder`
    /// inside the query (a value of safe characters: a position, a set
    /// of transaction ids).
    fn value_with_var(&self, sql: &str, placeholder: &str, var: &str) -> String {
        self.value(sql)
            .replace(placeholder, &format!("'\"${var}\"'"))
    }

    /// The number of tables in the database (its schema).
    fn tables(&self) -> String {
        self.value(match self.db.engine {
            Engine::Mysql | Engine::Mariadb => {
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()"
            }
            Engine::Postgres => {
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"
            }
            Engine::Mssql => "SELECT COUNT(*) FROM sys.tables",
            Engine::Oracle => "SELECT COUNT(*) FROM user_tables",
        })
    }

    /// 1 when the database holds WSO2's table `table`, else 0.
    fn has_table(&self, table: &str) -> String {
        self.value(&match self.db.engine {
            Engine::Mysql | Engine::Mariadb => format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            ),
            Engine::Postgres => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
            ),
            Engine::Mssql => format!("SELECT COUNT(*) FROM sys.tables WHERE name = '{table}'"),
            Engine::Oracle => {
                format!("SELECT COUNT(*) FROM user_tables WHERE table_name = '{table}'")
            }
        })
    }

    /// The database answers a query.
    fn answers(&self) -> String {
        format!("{} >/dev/null", self.value("SELECT 1"))
    }
}

/// `copy` holds as many tables as `source`, and some, WSO2's among them.
fn same_tables(copy: &Client, source: &Client) -> String {
    format!(
        "test \"$({})\" = 1 && test \"$({})\" -gt 0 && test \"$({})\" = \"$({})\"",
        copy.has_table(marker_table(copy.db)),
        copy.tables(),
        copy.tables(),
        source.tables()
    )
}

/// The commands of a dump, restore, migration, token sync or promotion.
pub(super) fn step(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let db = first(ctx)?;
    Ok(match ctx.draft.action {
        Action::Dump => dump(db),
        Action::Restore => match named(ctx)?.get(1) {
            Some(source) => wait_for_replica(ctx, db, source),
            None => restore(ctx, db),
        },
        Action::MigrateDb => migrate(ctx)?,
        Action::TokenSync => token_sync::commands(ctx, db),
        Action::PromoteDb => failover::promote(ctx, &named(ctx)?),
        action => return Err(super::unsupported(ctx, action)),
    })
}

/// Where dumps go, and the dump of a database without its extension.
fn dump_file(db: &DatabasePlan) -> String {
    format!("\"${{DUMP_DIR:-dumps}}\"/{}", q(&db.name))
}

fn dump(db: &DatabasePlan) -> Commands {
    let env = client_env(db);
    let (host, port, user, name) = (q(&db.host), db.port, q(&db.user), q(&db.database));
    let file = dump_file(db);
    let mkdir = "mkdir -p \"${DUMP_DIR:-dumps}\"".to_string();
    let table = marker_table(db);
    match db.engine {
        // A consistent dump without the server's tablespaces (they need
        // PROCESS); MySQL's own mysqldump leaves GTID_PURGED out (a copy
        // restored beside the original must not set it), an option
        // MariaDB's dump does not have: it is passed only to a client
        // that knows it.
        Engine::Mysql | Engine::Mariadb => {
            let (_, dumper, _) = programs(db.engine);
            let gtid = if db.engine == Engine::Mysql {
                format!(
                    "gtid=(); case \"$({dumper} --help 2>/dev/null)\" in *--set-gtid-purged*) gtid=(--set-gtid-purged=OFF) ;; esac; "
                )
            } else {
                String::new()
            };
            let gtid_arg = if db.engine == Engine::Mysql {
                " \"${gtid[@]}\""
            } else {
                ""
            };
            Commands::run(
                vec![
                    mkdir,
                    format!(
                        "{gtid}{env} {dumper} --single-transaction --routines --no-tablespaces{gtid_arg} --host={host} --port={port} --user={user} {name} > {file}.sql"
                    ),
                ],
                vec![format!(
                    "test -s {file}.sql && grep -q {} {file}.sql && tail -n 1 {file}.sql | grep -q '^-- Dump completed'",
                    q(&format!("^CREATE TABLE `{table}`"))
                )],
                Vec::new(),
            )
        }
        Engine::Postgres => Commands::run(
            vec![
                mkdir,
                format!(
                    "{env} pg_dump --host={host} --port={port} --username={user} --format=custom --file={file}.dump {name}"
                ),
            ],
            vec![format!(
                "pg_restore --list {file}.dump | grep -qE {}",
                q(&format!(" TABLE [^ ]+ {table} "))
            )],
            Vec::new(),
        ),
        // SQL Server: a BACPAC exported and imported by sqlpackage, on the
        // machine running the runbook (a BACKUP would land on the server).
        Engine::Mssql => Commands::run(
            vec![
                mkdir,
                format!(
                    "sqlpackage /Action:Export /SourceServerName:{host},{port} /SourceDatabaseName:{name} /SourceUser:{user} /SourcePassword:\"${{{}:?}}\" /SourceTrustServerCertificate:True /TargetFile:{file}.bacpac",
                    db.password.env
                ),
            ],
            vec![format!("test -s {file}.bacpac")],
            Vec::new(),
        ),
        // The password goes into a parameter file only the operator can
        // read, removed when the export ends: never onto a command line.
        // The dump lands in the server's DATA_PUMP_DIR.
        Engine::Oracle => {
            let dumpfile = format!("{}.dmp", db.name);
            Commands::run(
                vec![format!(
                    "( umask 077 && parfile=$(mktemp) && trap 'rm -f \"$parfile\"' EXIT && printf 'userid=%s/\"%s\"@%s\\n' {user} \"${{{}:?}}\" {} >\"$parfile\" && expdp parfile=\"$parfile\" schemas={user} directory=DATA_PUMP_DIR dumpfile={} reuse_dumpfiles=yes )",
                    db.password.env,
                    q(&format!("//{}:{}/{}", db.host, db.port, db.database)),
                    q(&dumpfile)
                )],
                vec![format!(
                    "{} | grep -qx 1",
                    Client::new(db).value(&format!(
                        "SELECT CASE WHEN DBMS_LOB.FILEEXISTS(BFILENAME('DATA_PUMP_DIR', '{}')) = 1 THEN 1 ELSE 0 END FROM DUAL",
                        sql_text(&dumpfile)
                    ))
                )],
                Vec::new(),
            )
        }
    }
}

/// A dump restored as the version upgrade's copy, on the same server (or,
/// for a migration, as the same database on the new deployment's server,
/// whose administrator has the same name and password). The server's
/// administrator creates the database (the topology's user may not
/// create databases) and gives it to the topology's user, who loads the
/// dump; a second run loads it again over the first.
fn restore(ctx: &Ctx, db: &DatabasePlan) -> Commands {
    let env = client_env(db);
    let (port, user) = (db.port, q(&db.user));
    let to = ctx.to_version().unwrap_or_default();
    let migration = ctx.kind() == Some(UpgradeKind::Migration);
    let source = Client::new(db);
    let (host, raw_name) = if migration {
        (
            "\"${NEW_DB_HOST:?database host of the new deployment}\"".to_string(),
            db.database.clone(),
        )
    } else {
        (q(&db.host), copy_name(db, &to))
    };
    let name = q(&raw_name);
    let restored = source.on(&host, &name);
    let admin = restored.admin(ctx);
    let file = dump_file(db);
    let check = same_tables(&restored, &source);
    match db.engine {
        Engine::Mysql | Engine::Mariadb => {
            let (shell, _, _) = programs(db.engine);
            let (ident, login) = (mysql_identifier(&raw_name), mysql_literal(&db.user));
            let server = admin.on(&host, "");
            Commands::run(
                vec![
                    format!(
                        "printf '%s\\n' {} | {}",
                        q(&format!(
                            "CREATE DATABASE IF NOT EXISTS {ident} CHARACTER SET latin1; GRANT ALL PRIVILEGES ON {ident}.* TO {login}@'%';"
                        )),
                        server.shell()
                    ),
                    format!(
                        "{env} {shell} --host={host} --port={port} --user={user} {name} < {file}.sql"
                    ),
                ],
                vec![check],
                vec![format!(
                    "printf '%s\\n' {} | {}",
                    q(&format!("DROP DATABASE IF EXISTS {ident};")),
                    server.shell()
                )],
            )
        }
        Engine::Postgres => {
            let server = admin.on(&host, "postgres");
            Commands::run(
                vec![
                    format!(
                        "printf '%s\\n' {} | {} -v db={name} -v owner={user}",
                        q(
                            "SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec"
                        ),
                        server.shell()
                    ),
                    format!(
                        "{env} pg_restore --host={host} --port={port} --username={user} --dbname={name} --no-owner --clean --if-exists --exit-on-error {file}.dump"
                    ),
                ],
                vec![check],
                vec![format!(
                    "printf '%s\\n' {} | {} -v db={name}",
                    q("SELECT format('DROP DATABASE IF EXISTS %I', :'db') \\gexec"),
                    server.shell()
                )],
            )
        }
        Engine::Mssql => Commands::run(
            vec![format!(
                "sqlpackage /Action:Import /TargetServerName:{host},{port} /TargetDatabaseName:{name} /TargetUser:{user} /TargetPassword:\"${{{}:?}}\" /TargetTrustServerCertificate:True /SourceFile:{file}.bacpac",
                db.password.env
            )],
            vec![check],
            vec![format!(
                "{env} sqlcmd -S {host},{port} -U {user} -C -b -Q {}",
                q(&format!("DROP DATABASE [{}]", raw_name.replace(']', "]]")))
            )],
        ),
        Engine::Oracle => Commands::by_hand(
            &format!(
                "import the Data Pump export {}.dmp of {} into a schema {} with impdp (remap_schema), as the database's administrator",
                db.name, db.name, raw_name
            ),
            Vec::new(),
        ),
    }
}

/// A replica of a migrated database: replication brings the primary's
/// migrated copy (same name) to the replica's server; wait for it.
fn wait_for_replica(ctx: &Ctx, db: &DatabasePlan, source: &DatabasePlan) -> Commands {
    let to = ctx.to_version().unwrap_or_default();
    let copy = copy_name(source, &to);
    let replica = Client::new(db).on(&q(&db.host), &q(&copy));
    let primary = Client::new(source).on(&q(&source.host), &q(&copy));
    if db.engine == Engine::Oracle {
        return Commands::by_hand(
            &format!(
                "check with the engine's own tools that replication brought {copy} to the server of {}",
                db.name
            ),
            Vec::new(),
        );
    }
    let check = same_tables(&replica, &primary);
    Commands::run(
        vec![super::until(
            &format!("{{ {check}; }} 2>/dev/null"),
            90,
            10,
            &format!(
                "replication did not bring {copy} to the server of {} in 15 minutes",
                db.name
            ),
        )],
        vec![check],
        Vec::new(),
    )
}

/// The databases a migration prepared: the migration client, and the new
/// build the nodes will run, must use them (the migrated copies on a
/// version upgrade, the new deployment's server on a migration), never
/// the live ones.
fn migration_guards(ctx: &Ctx, to: &str, migration: bool) -> Result<Vec<String>, Unresolved> {
    let conf = "\"${MIGRATION_HOME:?}\"/repository/conf/deployment.toml";
    if migration {
        return Ok(vec![format!(
            "grep -qF -- \"${{NEW_DB_HOST:?}}\" {conf} || {{ echo {} >&2; false; }}",
            q("the migration client's deployment.toml must point at NEW_DB_HOST")
        )]);
    }
    let mut guards = Vec::new();
    for db in named(ctx)? {
        let copy = copy_name(db, to);
        guards.push(format!(
            "grep -qF -- {} {conf} || {{ echo {} >&2; false; }}",
            q(&copy),
            q(&format!(
                "the migration client's deployment.toml must use the copy {copy}, not {}",
                db.database
            ))
        ));
        guards.push(format!(
            "grep -rqF -- {} \"${{NEXT_BUILD:?folder of topoc build for the new version}}\" || {{ echo {} >&2; false; }}",
            q(&copy),
            q(&format!(
                "the new build must use the copy {copy}: set database = \"{copy}\" in the topology at {to} and build it again"
            ))
        ));
    }
    Ok(guards)
}

fn migrate(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let to = ctx.to_version().unwrap_or_default();
    let from = &ctx.input.deployment.version;
    let migration = ctx.kind() == Some(UpgradeKind::Migration);
    let names: Vec<&str> = named(ctx)?.iter().map(|d| d.name.as_str()).collect();
    let mut commands = migration_guards(ctx, &to, migration)?;
    commands.push("mkdir -p \"${DUMP_DIR:-dumps}\"".to_string());
    let phases = migration_phases(from, &to);
    commands.extend(phases.iter().map(MigrationPhase::run));
    Ok(Commands::run(
        commands,
        phases.iter().map(MigrationPhase::succeeded).collect(),
        vec![if migration {
            format!(
                "echo {}",
                q(&format!(
                    "drop the migrated {} in the new deployment and restore from the dumps again",
                    names.join(", ")
                ))
            )
        } else {
            format!(
                "echo {}",
                q(&format!(
                    "drop the migrated copies of {} and restore them from the dumps again",
                    names.join(", ")
                ))
            )
        }],
    ))
}

/// One run of WSO2's migration client: the new version's server, started
/// in migration mode from `MIGRATION_HOME`, migrates the databases its
/// deployment.toml names and keeps running; the runbook waits for the
/// client's last line in the log, stops the server, and fails on any
/// ERROR the log holds (the client logs its end even after an error).
struct MigrationPhase {
    /// What migrates, for the log's name and the messages.
    what: &'static str,
    args: String,
    /// Extended regular expression of the client's last line.
    end: &'static str,
    /// ERROR lines known to be harmless, as an extended regular expression.
    harmless: &'static str,
}

/// The identity components first, then API Manager's own data.
fn migration_phases(from: &str, to: &str) -> Vec<MigrationPhase> {
    vec![
        MigrationPhase {
            what: "identity",
            args: "-Dmigrate -Dcomponent=identity".to_string(),
            end: "Execution was done through all the requested version list|Migration process was stopped|#+ +ALERT +#+",
            harmless: "^$",
        },
        MigrationPhase {
            what: "apim",
            args: format!(
                "-Dmigrate -DmigrateFromVersion={} -DmigratedVersion={}",
                q(from),
                q(to)
            ),
            end: "WSO2 API-M Migration Task : Successfully completed API-M migration",
            harmless: "SQL script not found at .*/migration-(4[.]1[.]0_to_4[.]2[.]0|4[.]2[.]0_to_4[.]3[.]0)",
        },
    ]
}

impl MigrationPhase {
    fn log(&self) -> String {
        format!("\"${{DUMP_DIR:-dumps}}\"/migration-{}.log", self.what)
    }

    fn run(&self) -> String {
        let home = "\"${MIGRATION_HOME:?product folder of the new version, with the migration resources}\"";
        let log = self.log();
        format!(
            "( nohup {home}/bin/api-manager.sh {} >{log} 2>&1 & for _ in $(seq 360); do grep -qE {} {log} && break; sleep 10; done; {home}/bin/api-manager.sh --stop; sleep 15; grep -qE {} {log} || {{ echo {} >&2; exit 1; }} )",
            self.args,
            q(self.end),
            q(self.end),
            q(&format!(
                "the {} migration did not finish in an hour: see the log",
                self.what
            )),
        )
    }

    fn succeeded(&self) -> String {
        let log = self.log();
        format!(
            "grep -qE {} {log} && ! grep -F ' ERROR ' {log} | grep -vE {} | grep -q .",
            q(self.end),
            q(self.harmless)
        )
    }
}

/// The administrator of a datasource's server: its user (a shell word)
/// and the variable its password is read from.
fn admin(ctx: &Ctx, name: &str) -> (String, String) {
    let t = ctx.input.topology;
    let ds = t.datasources.iter().find(|d| d.name == name);
    let user = ds
        .map(|d| d.admin_user.clone())
        .unwrap_or_else(|| "root".to_string());
    let env = ds
        .map(|d| crate::model::naming::env_name(&d.admin_password.name))
        .unwrap_or_else(|| "DB_ADMIN_PASSWORD".to_string());
    (q(&user), env)
}

/// WSO2's schema script for a database, under the product pack.
fn script(db: &DatabasePlan) -> String {
    let engine = match db.engine {
        Engine::Mysql | Engine::Mariadb => "mysql",
        Engine::Postgres => "postgresql",
        Engine::Mssql => "mssql",
        Engine::Oracle => "oracle",
    };
    match db.purpose {
        Purpose::Apim => format!("dbscripts/apimgt/{engine}.sql"),
        Purpose::Shared => format!("dbscripts/{engine}.sql"),
    }
}

/// A table the script creates, to tell a loaded database from an empty one.
fn marker_table(db: &DatabasePlan) -> &'static str {
    match (db.purpose, db.engine) {
        (Purpose::Apim, Engine::Postgres) => "am_api",
        (Purpose::Apim, _) => "AM_API",
        (Purpose::Shared, Engine::Postgres) => "reg_resource",
        (Purpose::Shared, _) => "REG_RESOURCE",
    }
}

/// A database and its user, created by the server's administrator (the
/// first deployment).
pub(super) fn create(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let db = first(ctx)?;
    let (admin_user, admin_env) = admin(ctx, &db.name);
    let (host, port, name) = (q(&db.host), db.port, q(&db.database));
    let pw = &db.password.env;
    let client = Client::new(db);
    Ok(match db.engine {
        Engine::Mysql | Engine::Mariadb => {
            let shell = programs(db.engine).0;
            let sql = "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET latin1; CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY '%s'; GRANT ALL PRIVILEGES ON %s.* TO %s@'%%'";
            let (ident, login) = (
                q(&mysql_identifier(&db.database)),
                q(&mysql_literal(&db.user)),
            );
            Commands::run(
                vec![format!(
                    "MYSQL_PWD=\"${{{admin_env}:?}}\" {shell} --host={host} --port={port} --user={admin_user} --execute=\"$(printf {} {ident} {login} \"$(printf '%s' \"${{{pw}:?}}\" | sed -e 's/\\\\/\\\\\\\\/g' -e \"s/'/''/g\")\" {ident} {login})\"",
                    q(sql)
                )],
                vec![client.answers()],
                Vec::new(),
            )
        }
        Engine::Postgres => {
            let sql = "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \\gexec\nSELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec";
            Commands::run(
                vec![format!(
                    "printf '%s\\n' {} | PGPASSWORD=\"${{{admin_env}:?}}\" psql --host={host} --port={port} --username={admin_user} --dbname=postgres -v ON_ERROR_STOP=1 -v user={} -v db={name} -v pw=\"${{{pw}:?}}\"",
                    q(sql),
                    q(&db.user)
                )],
                vec![client.answers()],
                Vec::new(),
            )
        }
        Engine::Mssql => Commands::by_hand(
            &format!(
                "As a SQL Server administrator on {}:{port}: CREATE DATABASE for {}, a login and user {} with the password of secret {}, and make it db_owner of the database",
                db.host, db.database, db.user, db.password.name
            ),
            vec![client.answers()],
        ),
        Engine::Oracle => Commands::by_hand(
            &format!(
                "As an Oracle administrator on {}:{port} (service {}): create the user {} with the password of secret {}, with CREATE SESSION, CREATE TABLE, CREATE SEQUENCE, CREATE TRIGGER and a quota on its tablespace",
                db.host, db.database, db.user, db.password.name
            ),
            vec![output_is(&client.value("SELECT 1 FROM DUAL"), "1")],
        ),
    })
}

/// The variable naming the unpacked product pack.
const PACK: &str = "${PRODUCT_HOME:?folder of the unpacked WSO2 API Manager pack of this version}";

/// WSO2's schema loaded into a database, once (the first deployment).
pub(super) fn load_schema(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let db = first(ctx)?;
    let (host, port, user, name) = (q(&db.host), db.port, q(&db.user), q(&db.database));
    let pw = &db.password.env;
    let file = format!("\"{PACK}\"/{}", q(&script(db)));
    let table = marker_table(db);
    let client = Client::new(db);
    let (count, load) = match db.engine {
        Engine::Mysql | Engine::Mariadb => (
            client.value(&format!(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
            )),
            format!(
                "MYSQL_PWD=\"${{{pw}:?}}\" {} --host={host} --port={port} --user={user} {name} < {file}",
                programs(db.engine).0
            ),
        ),
        Engine::Postgres => (
            client.value(&format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '{table}'"
            )),
            format!(
                "PGPASSWORD=\"${{{pw}:?}}\" psql --host={host} --port={port} --username={user} --dbname={name} -v ON_ERROR_STOP=1 --file={file}"
            ),
        ),
        Engine::Mssql => (
            client.value(&format!(
                "SELECT COUNT(*) FROM sys.tables WHERE name = '{table}'"
            )),
            format!(
                "SQLCMDPASSWORD=\"${{{pw}:?}}\" sqlcmd -S {host},{port} -U {user} -C -d {name} -b -i {file}"
            ),
        ),
        Engine::Oracle => {
            let connect = format!(
                "printf 'connect %s/\"%s\"@%s\\n' {user} \"${{{pw}:?}}\" {}",
                q(&format!("//{}:{port}/{}", db.host, db.database))
            );
            (
                client.value(&format!(
                    "SELECT COUNT(*) FROM user_tables WHERE table_name = '{table}'"
                )),
                format!(
                    "{{ {connect}; echo 'WHENEVER SQLERROR EXIT FAILURE'; printf '@%s\\nexit\\n' {file}; }} | sqlplus -S -L /nolog"
                ),
            )
        }
    };
    Ok(Commands::run(
        vec![format!("if [ \"$({count})\" = 0 ]; then {load}; fi")],
        vec![output_is(&count, "1")],
        Vec::new(),
    ))
}

/// A replica of the primary's database, set up by its database
/// administrator (how depends on the engine and the replication chosen):
/// the verification checks it answers read-only with WSO2's tables.
fn replica_set_up(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let found = named(ctx)?;
    let (Some(replica), Some(source)) = (found.first(), found.get(1)) else {
        return Err(Unresolved(format!(
            "`{}` names no replica and source",
            ctx.draft.title
        )));
    };
    let client = Client::new(replica);
    let table = marker_table(replica);
    let role = failover::replication_role(ctx, &replica.name);
    let (how, verify) = match replica.engine {
        Engine::Mysql | Engine::Mariadb => (
            if replica.engine == Engine::Mysql {
                format!(
                    "On {}: load a consistent copy of {} from {} (mysqldump --single-transaction --source-data, or a physical backup), then CHANGE REPLICATION SOURCE TO SOURCE_HOST = '{}', SOURCE_PORT = {}, SOURCE_USER = '{}' (the replication role: CREATE USER on the primary with REPLICATION SLAVE ON *.*), SOURCE_PASSWORD = <its secret {}>, SOURCE_AUTO_POSITION = 1; START REPLICA; SET PERSIST super_read_only = ON",
                    replica.host, replica.database, source.host, source.host, source.port, role.0, role.1
                )
            } else {
                format!(
                    "On {}: load a consistent copy of {} from {} (mariadb-dump --single-transaction --master-data=2 --gtid, or mariadb-backup), then CHANGE MASTER TO MASTER_HOST = '{}', MASTER_PORT = {}, MASTER_USER = '{}' (the replication role: CREATE USER on the primary with REPLICATION SLAVE ON *.*), MASTER_PASSWORD = <its secret {}>, MASTER_USE_GTID = slave_pos; START SLAVE; read_only = 1 under [mariadb] in its configuration (SET GLOBAL is lost on a restart); log_bin and log_slave_updates on, so that it can be promoted and followed",
                    replica.host, replica.database, source.host, source.host, source.port, role.0, role.1
                )
            },
            vec![
                output_is(&client.value("SELECT @@global.read_only"), "1"),
                output_is(
                    &client.value(&format!(
                        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
                    )),
                    "1",
                ),
            ],
        ),
        Engine::Postgres => (
            format!(
                "On {}: pg_basebackup --host={} --port={} --username={} (the replication role: CREATE ROLE ... LOGIN REPLICATION on the primary, its password the secret {}) --pgdata=<its data folder> --write-recovery-conf --wal-method=stream, then start it as a standby of {}",
                replica.host, source.host, source.port, role.0, role.1, source.host
            ),
            vec![
                output_is(&client.value("SELECT pg_is_in_recovery()"), "t"),
                output_is(
                    &client.value(&format!("SELECT to_regclass('{table}') IS NOT NULL")),
                    "t",
                ),
            ],
        ),
        Engine::Mssql => (
            format!(
                "On {}: add {} to an availability group (or log shipping) from {} as a readable secondary",
                replica.host, replica.database, source.host
            ),
            vec![format!(
                "{} >/dev/null",
                client.value(&format!("SELECT TOP 1 1 FROM {table}"))
            )],
        ),
        Engine::Oracle => (
            format!(
                "On {}: set up a Data Guard standby (Active Data Guard, open read-only) of {} from {}",
                replica.host, replica.database, source.host
            ),
            vec![output_is(
                &client.value("SELECT database_role FROM v$database"),
                "PHYSICALSTANDBY",
            )],
        ),
    };
    Ok(Commands::by_hand(&how, verify))
}
