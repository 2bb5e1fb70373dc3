//! A failover's database steps: the lost primary's servers fenced, one
//! promotion per server of the disaster-recovery datacenter, and the
//! read-only datacenters' replicas re-pointed at the promoted servers. Each
//! runs as the server's administrator (`admin_user`, `admin_password`);
//! replicas connect as the replication role (`replication_user`,
//! `replication_password`). Settings are persisted where the engine can
//! (PostgreSQL's `ALTER SYSTEM`, MySQL's `SET PERSIST`); MariaDB cannot
//! persist a global variable from SQL, and the step says what to put in
//! the server's configuration.

use super::{
    Client, Commands, Ctx, Engine, Unresolved, mysql_literal, named, output_is, q, secret_literal,
    sql_text,
};
use crate::deployment::DatabasePlan;
use crate::plan::commands::until;

/// The replication role of a datasource's replicas: its name and the
/// secret of its password.
pub(in crate::plan::commands) fn replication_role(ctx: &Ctx, name: &str) -> (String, String) {
    let t = ctx.input.topology;
    t.datasources
        .iter()
        .find(|d| d.name == name)
        .map(|d| {
            (
                d.replication_user.clone(),
                d.replication_password.name.clone(),
            )
        })
        .unwrap_or_else(|| {
            (
                "replicator".to_string(),
                format!("{name}-replication-password"),
            )
        })
}

/// The variable holding the replication role's password.
fn replication_env(ctx: &Ctx, name: &str) -> String {
    crate::model::naming::env_name(&replication_role(ctx, name).1)
}

/// SQL fed to a client on its standard input (`sql` is a printf format
/// whose `%s` take `args`, shell words or expressions).
fn feed(sql: &str, args: &[String], client: &Client) -> String {
    let mut words = vec![q(&format!("{sql}\\n"))];
    words.extend(args.iter().cloned());
    format!("printf {} | {}", words.join(" "), client.shell())
}

/// The database servers of some databases: the first database of each
/// host and port, with the names of all of them.
fn servers<'a>(dbs: &[&'a DatabasePlan]) -> Vec<(&'a DatabasePlan, Vec<&'a str>)> {
    let mut out: Vec<(&DatabasePlan, Vec<&str>)> = Vec::new();
    for db in dbs {
        match out
            .iter_mut()
            .find(|(s, _)| s.host == db.host && s.port == db.port)
        {
            Some((_, names)) => names.push(&db.name),
            None => out.push((db, vec![&db.name])),
        }
    }
    out
}

/// The lost primary's database servers: any that still answers is made
/// read-only (its writers refused) before anything is promoted, so the
/// two sites never both take writes; one that does not answer must be
/// kept from coming back. The verification holds either way: each server
/// is unreachable or read-only.
pub(in crate::plan::commands) fn fence(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let dbs = named(ctx)?;
    let mut out = Commands::default();
    for (db, names) in servers(&dbs) {
        let admin = Client::new(db).admin(ctx).on(&q(&db.host), &server_db(db));
        let place = format!("{}:{} ({})", db.host, db.port, names.join(", "));
        let answers = format!("{} 2>/dev/null", timeout(&admin.answers(), db.engine));
        let (fence, read_only) = match db.engine {
            Engine::Postgres => {
                let list = names_of(&dbs, db);
                (
                    feed(
                        "ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf(); SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN (%s) AND pid <> pg_backend_pid();",
                        &[q(&list)],
                        &admin,
                    ),
                    output_is(&admin.value("SHOW default_transaction_read_only"), "on"),
                )
            }
            Engine::Mysql => (
                feed("SET PERSIST super_read_only = ON;", &[], &admin),
                output_is(&admin.value("SELECT @@global.super_read_only"), "1"),
            ),
            Engine::Mariadb => (
                format!(
                    "{} && echo {} >&2",
                    feed("SET GLOBAL read_only = ON;", &[], &admin),
                    q(&format!(
                        "MariaDB keeps SET GLOBAL only until a restart: put read_only = 1 under [mariadb] in the configuration of {} before it can start again; accounts with READ ONLY ADMIN (root, ALL PRIVILEGES ON *.*) still write",
                        db.host
                    ))
                ),
                output_is(&admin.value("SELECT @@global.read_only"), "1"),
            ),
            _ => {
                out.commands.push(format!(
                    "echo {}",
                    q(&format!(
                        "make the databases on {place} read-only or stop the server, with the engine's own tools, before promoting"
                    ))
                ));
                out.manual = true;
                continue;
            }
        };
        out.commands.push(format!(
            "if {answers}; then {fence} && echo {}; else echo {} >&2; fi",
            q(&format!("{place} still answered: it is read-only now")),
            q(&format!(
                "{place} does not answer: keep it from coming back (power it off or block its port) before promoting"
            ))
        ));
        out.verify.push(format!("! {answers} || {read_only}"));
        out.rollback.push(match db.engine {
            Engine::Postgres => feed(
                "ALTER SYSTEM RESET default_transaction_read_only; SELECT pg_reload_conf();",
                &[],
                &admin,
            ),
            Engine::Mysql => feed("SET PERSIST read_only = OFF;", &[], &admin),
            _ => feed("SET GLOBAL read_only = OFF;", &[], &admin),
        });
    }
    Ok(out)
}

/// The database a server-wide statement connects to.
fn server_db(db: &DatabasePlan) -> String {
    match db.engine {
        Engine::Postgres => "postgres".to_string(),
        _ => String::new(),
    }
}

/// The database names (not datasource names) on one server, as a SQL list.
fn names_of(dbs: &[&DatabasePlan], server: &DatabasePlan) -> String {
    let mut names: Vec<String> = dbs
        .iter()
        .filter(|d| d.host == server.host && d.port == server.port)
        .map(|d| format!("'{}'", sql_text(&d.database)))
        .collect();
    names.dedup();
    names.join(", ")
}

/// A client command that gives up after 10 seconds without an answer.
fn timeout(command: &str, engine: Engine) -> String {
    match engine {
        Engine::Postgres => format!("PGCONNECT_TIMEOUT=10 {command}"),
        Engine::Mysql | Engine::Mariadb => {
            command.replacen(" --host=", " --connect-timeout=10 --host=", 1)
        }
        _ => command.to_string(),
    }
}

/// One server of the disaster-recovery datacenter becomes the primary:
/// once, whatever the number of its databases. What it had received from
/// the lost primary is applied first.
pub(super) fn promote(ctx: &Ctx, dbs: &[&DatabasePlan]) -> Commands {
    let Some(&db) = dbs.first() else {
        return Commands::default();
    };
    let admin = Client::new(db).admin(ctx).on(&q(&db.host), &server_db(db));
    match db.engine {
        Engine::Postgres => Commands::run(
            vec![format!(
                "if [ \"$({})\" = t ]; then test \"$({})\" = t; fi",
                admin.value("SELECT pg_is_in_recovery()"),
                admin.value("SELECT pg_promote(true, 300)")
            )],
            vec![
                output_is(&admin.value("SELECT pg_is_in_recovery()"), "f"),
                output_is(&admin.value("SHOW transaction_read_only"), "off"),
            ],
            Vec::new(),
        ),
        Engine::Mysql => Commands::run(
            vec![
                feed("STOP REPLICA IO_THREAD;", &[], &admin),
                until(
                    &format!(
                        "test \"$({})\" = 0",
                        admin.value("SELECT WAIT_FOR_EXECUTED_GTID_SET((SELECT RECEIVED_TRANSACTION_SET FROM performance_schema.replication_connection_status LIMIT 1), 10)")
                    ),
                    60,
                    0,
                    &format!("{} did not apply what it had received in 10 minutes", db.host),
                ),
                feed(
                    "STOP REPLICA; RESET REPLICA ALL; SET PERSIST read_only = OFF;",
                    &[],
                    &admin,
                ),
            ],
            vec![
                output_is(
                    &admin.value("SELECT CONCAT(@@global.read_only, @@global.super_read_only)"),
                    "00",
                ),
                output_is(
                    &admin.value("SELECT VARIABLE_VALUE FROM performance_schema.persisted_variables WHERE VARIABLE_NAME = 'read_only'"),
                    "OFF",
                ),
                format!(
                    "test -z \"$({})\"",
                    admin.value("SHOW REPLICA STATUS")
                ),
            ],
            Vec::new(),
        ),
        Engine::Mariadb => Commands::run(
            vec![
                feed("STOP SLAVE IO_THREAD;", &[], &admin),
                until(
                    &format!(
                        "{{ test -z \"$({status})\" || {status} | grep -q 'Slave has read all relay log'; }}",
                        status = admin.value("SHOW SLAVE STATUS")
                    ),
                    60,
                    10,
                    &format!("{} did not apply what it had received in 10 minutes", db.host),
                ),
                feed("STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF;", &[], &admin),
                format!(
                    "echo {} >&2",
                    q(&format!(
                        "MariaDB keeps SET GLOBAL only until a restart: remove read_only from the configuration of {} now",
                        db.host
                    ))
                ),
            ],
            vec![
                output_is(&admin.value("SELECT @@global.read_only"), "0"),
                format!("test -z \"$({})\"", admin.value("SHOW SLAVE STATUS")),
            ],
            Vec::new(),
        ),
        Engine::Mssql => Commands::by_hand(
            &format!(
                "fail the availability group of {} over to {} (ALTER AVAILABILITY GROUP ... FAILOVER, or FORCE_FAILOVER_ALLOW_DATA_LOSS when the primary is lost)",
                db.name, db.host
            ),
            dbs.iter()
                .map(|d| {
                    output_is(
                        &Client::new(d).value(&format!(
                            "SELECT DATABASEPROPERTYEX('{}', 'Updateability')",
                            sql_text(&d.database)
                        )),
                        "READ_WRITE",
                    )
                })
                .collect(),
        ),
        Engine::Oracle => Commands::by_hand(
            &format!(
                "fail Data Guard over to the standby of {} on {} (ALTER DATABASE ACTIVATE STANDBY DATABASE, or the broker's FAILOVER)",
                db.name, db.host
            ),
            vec![output_is(
                &Client::new(db).value("SELECT open_mode FROM v$database"),
                "READWRITE",
            )],
        ),
    }
}

/// A replica follows another source: the database promoted on failover
/// (or, on the first deployment, its primary: set up by hand).
pub(in crate::plan::commands) fn replicate(ctx: &Ctx) -> Result<Commands, Unresolved> {
    if ctx.input.bootstrap || ctx.input.change.is_some() {
        return super::replica_set_up(ctx);
    }
    let found = named(ctx)?;
    let (Some(&replica), Some(&source)) = (found.first(), found.get(1)) else {
        return Err(Unresolved(format!(
            "`{}` names no replica and source",
            ctx.draft.title
        )));
    };
    let here = Client::new(replica)
        .admin(ctx)
        .on(&q(&replica.host), &server_db(replica));
    let there = Client::new(source)
        .admin(ctx)
        .on(&q(&source.host), &server_db(source));
    let (role, secret) = replication_role(ctx, &replica.name);
    let password = || secret_literal(&replication_env(ctx, &replica.name), replica.engine);
    let rebuild = |how: &str| {
        format!(
            "{} has applied transactions that {} ({}) never received from the lost primary: it cannot follow it; rebuild it from {} ({how}), or promote it instead",
            replica.name, source.name, source.host, source.host
        )
    };
    Ok(match replica.engine {
        Engine::Postgres => {
            // The point where the promoted server left the lost primary's
            // timeline, from its newest timeline history file.
            let fork = there.value(
                "SELECT (regexp_match(pg_read_file('pg_wal/' || name), E'([0-9A-F]+/[0-9A-F]+)[^\\n]*\\n?$'))[1] FROM (SELECT name FROM pg_ls_waldir() WHERE name LIKE '%.history' ORDER BY name DESC LIMIT 1) AS h",
            );
            // A replica that already streams from the promoted server (a
            // second run) is past the fork on the new timeline.
            let streams = format!(
                "{} | grep -qx {}",
                here.value("SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver"),
                q(&format!("{} streaming", source.host))
            );
            let ahead = format!(
                "{streams} || {{ fork=$({fork}) && {{ [ -z \"$fork\" ] || [ \"$({})\" = f ] || {{ echo {} >&2; false; }}; }}; }}",
                here.value_with_var(
                    "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '@FORK@'::pg_lsn) > 0",
                    "@FORK@",
                    "fork"
                ),
                q(&rebuild("pg_basebackup, or pg_rewind once it is stopped"))
            );
            let prefix = format!(
                "host={} port={} user={} application_name={} password=",
                conninfo_word(&source.host),
                source.port,
                conninfo_word(&role),
                conninfo_word(&replica.name)
            );
            let repoint = format!(
                r#"( pw=$(printf '%s' "${{{var}:?}}" | sed -e 's/\\/\\\\/g' -e "s/'/\\\\'/g") && conninfo={prefix}"'$pw'" && printf '%s\n' "ALTER SYSTEM SET primary_conninfo = '$(printf '%s' "$conninfo" | sed "s/'/''/g")';" 'ALTER SYSTEM RESET primary_slot_name;' 'SELECT pg_reload_conf();' | {shell} >/dev/null )"#,
                var = replication_env(ctx, &replica.name),
                prefix = q(&prefix),
                shell = here.shell()
            );
            Commands::run(
                vec![ahead, repoint],
                vec![
                    format!(
                        "{} | grep -qF {}",
                        here.value("SHOW primary_conninfo"),
                        q(&format!("host={}", conninfo_word(&source.host)))
                    ),
                    until(
                        &format!(
                            "{} | grep -qx {}",
                            here.value(
                                "SELECT sender_host || ' ' || status FROM pg_stat_wal_receiver"
                            ),
                            q(&format!("{} streaming", source.host))
                        ),
                        30,
                        10,
                        &format!("{} does not stream from {}", replica.name, source.host),
                    ),
                ],
                Vec::new(),
            )
        }
        Engine::Mysql => Commands::run(
            vec![
                format!(
                    "executed=$({}) && test \"$({})\" = 1 || {{ echo {} >&2; false; }}",
                    here.value("SELECT @@global.gtid_executed"),
                    there.value_with_var(
                        "SELECT GTID_SUBSET('@SET@', @@global.gtid_executed)",
                        "@SET@",
                        "executed"
                    ),
                    q(&rebuild("a clone or a dump of it"))
                ),
                feed(
                    &format!(
                        "STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_HOST = {}, SOURCE_PORT = {}, SOURCE_USER = {}, SOURCE_PASSWORD = %s, SOURCE_AUTO_POSITION = 1, GET_SOURCE_PUBLIC_KEY = 1; START REPLICA;",
                        printf_text(&mysql_literal(&source.host)),
                        source.port,
                        printf_text(&mysql_literal(&role))
                    ),
                    &[password()],
                    &here,
                ),
            ],
            mysql_follows(
                &here,
                source,
                "SHOW REPLICA STATUS\\G",
                ["Source_Host", "Replica_IO_Running", "Replica_SQL_Running"],
            ),
            Vec::new(),
        ),
        Engine::Mariadb => Commands::run(
            vec![
                // What the replica applied (its slave position) against
                // what the promoted server holds (its current position: what
                // it applied and what it wrote since); a replica that
                // already follows it (a second run) is not ahead.
                format!(
                    "{{ {} | grep -qE {}; }} || {{ mine=$({}) && theirs=$({}) && {{ test \"$(printf '%s\\n%s\\n' \"$mine\" \"$theirs\" | awk {})\" != ahead || {{ echo {} >&2; false; }}; }}; }}",
                    here.value("SHOW SLAVE STATUS\\G")
                        .replace(" --skip-column-names", ""),
                    q(&format!("^ *Master_Host: {}$", regex_text(&source.host))),
                    here.value("SELECT @@global.gtid_slave_pos"),
                    there.value("SELECT @@global.gtid_current_pos"),
                    q(
                        "{ n = split($0, gtids, \",\"); for (i = 1; i <= n; i++) { if (split(gtids[i], p, \"-\") == 3) { if (NR == 1) mine[p[1]] = p[3]; else theirs[p[1]] = p[3] } } } END { for (d in mine) if (!(d in theirs) || mine[d] + 0 > theirs[d] + 0) { print \"ahead\"; exit } }"
                    ),
                    q(&rebuild("mariadb-backup or a dump of it"))
                ),
                feed(
                    &format!(
                        "STOP SLAVE; CHANGE MASTER TO MASTER_HOST = {}, MASTER_PORT = {}, MASTER_USER = {}, MASTER_PASSWORD = %s, MASTER_USE_GTID = slave_pos; START SLAVE;",
                        printf_text(&mysql_literal(&source.host)),
                        source.port,
                        printf_text(&mysql_literal(&role))
                    ),
                    &[password()],
                    &here,
                ),
            ],
            mysql_follows(
                &here,
                source,
                "SHOW SLAVE STATUS\\G",
                ["Master_Host", "Slave_IO_Running", "Slave_SQL_Running"],
            ),
            Vec::new(),
        ),
        _ => Commands::by_hand(
            &format!(
                "make {} replicate from {} ({}) with the engine's own tools, as the replication role {role} (secret {secret})",
                replica.name, source.name, source.host
            ),
            Vec::new(),
        ),
    })
}

/// The checks that a MySQL or MariaDB replica replicates from `source`:
/// its source, and both replication threads running (retried: the I/O
/// thread connects a moment after START).
fn mysql_follows(
    here: &Client,
    source: &DatabasePlan,
    status: &str,
    columns: [&str; 3],
) -> Vec<String> {
    let [host, io, sql] = columns;
    // Vertical status needs its column names.
    let show = here.value(status).replace(" --skip-column-names", "");
    vec![
        format!(
            "{show} | grep -qE {}",
            q(&format!("^ *{host}: {}$", regex_text(&source.host)))
        ),
        until(
            &format!(
                "{{ {show} | grep -qE {} && {show} | grep -qE {}; }}",
                q(&format!("^ *{io}: Yes$")),
                q(&format!("^ *{sql}: Yes$"))
            ),
            30,
            10,
            &format!("the replica does not replicate from {}", source.host),
        ),
    ]
}

/// A value in a libpq connection string: single-quoted when it needs it.
fn conninfo_word(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
    {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// Text kept literally in a printf format (`%` doubled).
fn printf_text(text: &str) -> String {
    text.replace('%', "%%")
}

/// Text matched literally in an extended regular expression.
fn regex_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if "\\.[]()*+?{}|^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}
