//! The token sync of a migration: what the current deployment issued,
//! revoked and refreshed since `WINDOW_START` reaches the new one (and,
//! two-way, the other way round), with every row that references a token.
//!
//! One run reads the source in one consistent snapshot (PostgreSQL
//! `REPEATABLE READ`, MySQL and MariaDB `WITH CONSISTENT SNAPSHOT`) and
//! writes the target in one transaction, through staging tables, with
//! explicit column lists (the new schema may have more columns):
//!
//! - a token whose state left `ACTIVE` (revoked, refreshed, expired) gets
//!   that state in the target; a state never goes back to `ACTIVE`;
//! - a token WSO2's clean-up moved to `IDN_OAUTH2_ACCESS_TOKEN_AUDIT` in
//!   the source leaves the target's token table (its scope and
//!   referencing rows go with it), and its audit row is copied;
//! - a token the target lacks is inserted, then the scope, binding and
//!   request-object rows it lacks (`IDN_OAUTH2_ACCESS_TOKEN_SCOPE`,
//!   `IDN_OAUTH2_TOKEN_BINDING`, `IDN_OIDC_REQ_OBJECT_REFERENCE`), and the
//!   revoked JWTs it lacks (`AM_REVOKED_JWT`);
//! - rows already in the target (the restored dump) are left as they are:
//!   a second run changes nothing.
//!
//! Both sides of each pipe are checked (`set -o pipefail`): a failed read
//! sends no `COMMIT`, and the target rolls back. `WINDOW_START` is UTC, as
//! WSO2 writes `TIME_CREATED`: MySQL and MariaDB sessions compare in
//! `time_zone = '+00:00'` whatever the server's zone, PostgreSQL compares
//! the `timestamp` columns as they are (WSO2's UTC wall clock).

use super::{Client, Commands, Ctx, Engine, q};
use crate::deployment::DatabasePlan;
use crate::model::{Role, TokenSync};

const TOKENS: &str = "IDN_OAUTH2_ACCESS_TOKEN";
const TOKEN_COLUMNS: &[&str] = &[
    "TOKEN_ID",
    "ACCESS_TOKEN",
    "REFRESH_TOKEN",
    "CONSUMER_KEY_ID",
    "AUTHZ_USER",
    "TENANT_ID",
    "USER_DOMAIN",
    "USER_TYPE",
    "GRANT_TYPE",
    "TIME_CREATED",
    "REFRESH_TOKEN_TIME_CREATED",
    "VALIDITY_PERIOD",
    "REFRESH_TOKEN_VALIDITY_PERIOD",
    "TOKEN_SCOPE_HASH",
    "TOKEN_STATE",
    "TOKEN_STATE_ID",
    "SUBJECT_IDENTIFIER",
    "ACCESS_TOKEN_HASH",
    "REFRESH_TOKEN_HASH",
    "IDP_ID",
    "TOKEN_BINDING_REF",
];
const AUDIT_COLUMNS: &[&str] = &[
    "TOKEN_ID",
    "ACCESS_TOKEN",
    "REFRESH_TOKEN",
    "CONSUMER_KEY_ID",
    "AUTHZ_USER",
    "TENANT_ID",
    "USER_DOMAIN",
    "USER_TYPE",
    "GRANT_TYPE",
    "TIME_CREATED",
    "REFRESH_TOKEN_TIME_CREATED",
    "VALIDITY_PERIOD",
    "REFRESH_TOKEN_VALIDITY_PERIOD",
    "TOKEN_SCOPE_HASH",
    "TOKEN_STATE",
    "TOKEN_STATE_ID",
    "SUBJECT_IDENTIFIER",
    "ACCESS_TOKEN_HASH",
    "REFRESH_TOKEN_HASH",
    "INVALIDATED_TIME",
    "IDP_ID",
];

/// A table the sync reads from the source into a staging table of the
/// target.
struct Table {
    name: &'static str,
    stage: &'static str,
    columns: &'static [&'static str],
    rows: Rows,
}

/// Which rows of a table the sync reads.
#[derive(Clone, Copy)]
enum Rows {
    /// Tokens issued since the window opened, and tokens no longer
    /// `ACTIVE` that were still valid when it opened.
    Tokens,
    /// Rows that reference those tokens.
    OfTokens,
    /// Tokens WSO2's clean-up moved to the audit table (from a day before
    /// the window: its time is not always written in UTC).
    Invalidated,
    /// Revoked JWTs that had not expired when the window opened.
    Unexpired,
}

const TABLES: &[Table] = &[
    Table {
        name: TOKENS,
        stage: "stage_token",
        columns: TOKEN_COLUMNS,
        rows: Rows::Tokens,
    },
    Table {
        name: "IDN_OAUTH2_ACCESS_TOKEN_SCOPE",
        stage: "stage_scope",
        columns: &["TOKEN_ID", "TOKEN_SCOPE", "TENANT_ID"],
        rows: Rows::OfTokens,
    },
    Table {
        name: "IDN_OAUTH2_TOKEN_BINDING",
        stage: "stage_binding",
        columns: &[
            "TOKEN_ID",
            "TOKEN_BINDING_TYPE",
            "TOKEN_BINDING_REF",
            "TOKEN_BINDING_VALUE",
            "TENANT_ID",
        ],
        rows: Rows::OfTokens,
    },
    Table {
        name: "IDN_OIDC_REQ_OBJECT_REFERENCE",
        stage: "stage_request",
        columns: &["CONSUMER_KEY_ID", "CODE_ID", "TOKEN_ID", "SESSION_DATA_KEY"],
        rows: Rows::OfTokens,
    },
    Table {
        name: "IDN_OAUTH2_ACCESS_TOKEN_AUDIT",
        stage: "stage_gone",
        columns: AUDIT_COLUMNS,
        rows: Rows::Invalidated,
    },
    Table {
        name: "AM_REVOKED_JWT",
        stage: "stage_jwt",
        columns: &[
            "UUID",
            "SIGNATURE",
            "EXPIRY_TIMESTAMP",
            "TENANT_ID",
            "TOKEN_TYPE",
            "TIME_CREATED",
        ],
        rows: Rows::Unexpired,
    },
];

/// Where `WINDOW_START` goes in the source's queries.
const WINDOW: &str = "@WINDOW_START@";

/// The SQL of one engine family.
#[derive(Clone, Copy, PartialEq)]
enum Dialect {
    Postgres,
    Mysql,
}

impl Dialect {
    fn of(engine: Engine) -> Option<Dialect> {
        match engine {
            Engine::Postgres => Some(Dialect::Postgres),
            Engine::Mysql | Engine::Mariadb => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// The window's start, as a timestamp.
    fn start(self) -> String {
        match self {
            Dialect::Postgres => format!("timestamp '{WINDOW}'"),
            Dialect::Mysql => format!("'{WINDOW}'"),
        }
    }

    /// Seconds since the epoch of a timestamp (UTC).
    fn epoch(self, ts: &str) -> String {
        match self {
            Dialect::Postgres => format!("extract(epoch from {ts})"),
            Dialect::Mysql => format!("UNIX_TIMESTAMP({ts})"),
        }
    }

    /// A token (or its refresh token) still valid when the window opened:
    /// a negative validity never expires.
    fn live(self, created: &str, validity: &str) -> String {
        format!(
            "({validity} < 0 OR {validity} >= ({} - {}) * 1000)",
            self.epoch(&self.start()),
            self.epoch(created)
        )
    }

    fn tokens(self) -> String {
        format!(
            "TIME_CREATED >= {} OR (TOKEN_STATE <> 'ACTIVE' AND ({} OR {}))",
            self.start(),
            self.live("TIME_CREATED", "VALIDITY_PERIOD"),
            self.live(
                "REFRESH_TOKEN_TIME_CREATED",
                "REFRESH_TOKEN_VALIDITY_PERIOD"
            )
        )
    }

    fn filter(self, rows: Rows) -> String {
        match rows {
            Rows::Tokens => self.tokens(),
            Rows::OfTokens => format!(
                "TOKEN_ID IN (SELECT TOKEN_ID FROM {TOKENS} WHERE {})",
                self.tokens()
            ),
            Rows::Invalidated => match self {
                Dialect::Postgres => {
                    format!("INVALIDATED_TIME >= {} - interval '1 day'", self.start())
                }
                Dialect::Mysql => format!("INVALIDATED_TIME >= {} - INTERVAL 1 DAY", self.start()),
            },
            Rows::Unexpired => format!("EXPIRY_TIMESTAMP >= {} * 1000", self.epoch(&self.start())),
        }
    }

    /// The target session's set-up: UTC, a lock that keeps two runs of the
    /// sync apart (`lock`), the staging tables, the transaction.
    fn head(self, lock: bool) -> String {
        let mut out = Vec::new();
        match self {
            Dialect::Postgres => {
                out.push("BEGIN;".to_string());
                out.push("SET LOCAL TIME ZONE 'UTC';".to_string());
                if lock {
                    out.push("DO 'BEGIN PERFORM pg_advisory_xact_lock(770130); END';".to_string());
                }
                for t in TABLES {
                    out.push(format!(
                        "CREATE TEMP TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA;",
                        t.stage,
                        t.columns.join(", "),
                        t.name
                    ));
                }
            }
            Dialect::Mysql => {
                out.push("SET SESSION time_zone = '+00:00';".to_string());
                out.push(
                    "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, 'NO_BACKSLASH_ESCAPES', '');"
                        .to_string(),
                );
                out.push("SET SESSION foreign_key_checks = 1;".to_string());
                if lock {
                    // GET_LOCK answers 0 after ten minutes: the subquery's
                    // error stops the run.
                    out.push("SET @locked = IF(GET_LOCK('topoc-token-sync', 600) = 1, 1, (SELECT 1 UNION SELECT 2));".to_string());
                }
                for t in TABLES {
                    out.push(format!(
                        "CREATE TEMPORARY TABLE {} LIKE {};",
                        t.stage, t.name
                    ));
                }
                out.push("START TRANSACTION;".to_string());
            }
        }
        out.join(" ")
    }

    /// The source's statements that print what the target loads: COPY
    /// data (PostgreSQL) or INSERT statements (MySQL, MariaDB).
    fn reads(self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Dialect::Postgres => {
                out.push("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY".to_string());
                out.push("SET LOCAL TIME ZONE 'UTC'".to_string());
                for t in TABLES {
                    let columns = t.columns.join(", ");
                    out.push(format!("\\echo 'COPY {} ({columns}) FROM STDIN;'", t.stage));
                    out.push(format!(
                        "COPY (SELECT {columns} FROM {} WHERE {}) TO STDOUT",
                        t.name,
                        self.filter(t.rows)
                    ));
                    out.push("\\echo '\\\\.'".to_string());
                }
            }
            Dialect::Mysql => {
                out.push("SET SESSION time_zone = '+00:00'; SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY".to_string());
                for t in TABLES {
                    let quoted: Vec<String> =
                        t.columns.iter().map(|c| format!("QUOTE({c})")).collect();
                    out.push(format!(
                        "SELECT CONCAT('INSERT INTO {} ({}) VALUES (', CONCAT_WS(',', {}), ');') FROM {} WHERE {}",
                        t.stage,
                        t.columns.join(", "),
                        quoted.join(", "),
                        t.name,
                        self.filter(t.rows)
                    ));
                }
                out.push("COMMIT".to_string());
            }
        }
        out
    }

    /// `name=N`: how many rows a statement changed.
    fn counted(self, name: &str, statement: &str) -> String {
        match self {
            Dialect::Postgres => {
                format!("WITH c AS ({statement} RETURNING 1) SELECT '{name}=' || count(*) FROM c;")
            }
            Dialect::Mysql => format!("{statement}; SELECT CONCAT('{name}=', ROW_COUNT());"),
        }
    }

    /// The target's upserts, each printing what it changed, then COMMIT.
    fn apply(self) -> String {
        let cols = |alias: &str, columns: &[&str]| -> String {
            columns
                .iter()
                .map(|c| format!("{alias}.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let list = |columns: &[&str]| columns.join(", ");
        let scope = &TABLES[1];
        let binding = &TABLES[2];
        let request = &TABLES[3];
        let audit = &TABLES[4];
        let jwt = &TABLES[5];
        let (same, exists_token) = match self {
            Dialect::Postgres => ("IS NOT DISTINCT FROM", "EXISTS"),
            Dialect::Mysql => ("<=>", "EXISTS"),
        };
        let token_exists = |alias: &str| {
            format!("{exists_token} (SELECT 1 FROM {TOKENS} t WHERE t.TOKEN_ID = {alias}.TOKEN_ID)")
        };
        let mut out = Vec::new();
        match self {
            Dialect::Postgres => {
                out.push(self.counted(
                    "states",
                    &format!("UPDATE {TOKENS} t SET TOKEN_STATE = s.TOKEN_STATE, TOKEN_STATE_ID = s.TOKEN_STATE_ID FROM stage_token s WHERE t.TOKEN_ID = s.TOKEN_ID AND t.TOKEN_STATE = 'ACTIVE' AND s.TOKEN_STATE <> 'ACTIVE'"),
                ));
                out.push(self.counted(
                    "removed",
                    &format!("DELETE FROM {TOKENS} t USING stage_gone g WHERE t.TOKEN_ID = g.TOKEN_ID AND NOT EXISTS (SELECT 1 FROM stage_token s WHERE s.TOKEN_ID = g.TOKEN_ID)"),
                ));
            }
            Dialect::Mysql => {
                out.push(self.counted(
                    "states",
                    &format!("UPDATE {TOKENS} t JOIN stage_token s ON t.TOKEN_ID = s.TOKEN_ID SET t.TOKEN_STATE = s.TOKEN_STATE, t.TOKEN_STATE_ID = s.TOKEN_STATE_ID WHERE t.TOKEN_STATE = 'ACTIVE' AND s.TOKEN_STATE <> 'ACTIVE'"),
                ));
                out.push(self.counted(
                    "removed",
                    &format!("DELETE t FROM {TOKENS} t JOIN stage_gone g ON t.TOKEN_ID = g.TOKEN_ID LEFT JOIN stage_token s ON s.TOKEN_ID = g.TOKEN_ID WHERE s.TOKEN_ID IS NULL"),
                ));
            }
        }
        out.push(self.counted(
            "audited",
            &format!(
                "INSERT INTO {} ({}) SELECT {} FROM stage_gone g WHERE NOT EXISTS (SELECT 1 FROM {} a WHERE a.TOKEN_ID = g.TOKEN_ID AND a.INVALIDATED_TIME {same} g.INVALIDATED_TIME)",
                audit.name,
                list(audit.columns),
                cols("g", audit.columns),
                audit.name
            ),
        ));
        out.push(self.counted(
            "tokens",
            &format!(
                "INSERT INTO {TOKENS} ({}) SELECT {} FROM stage_token s WHERE NOT EXISTS (SELECT 1 FROM {TOKENS} t WHERE t.TOKEN_ID = s.TOKEN_ID)",
                list(TOKEN_COLUMNS),
                cols("s", TOKEN_COLUMNS)
            ),
        ));
        out.push(self.counted(
            "scopes",
            &format!(
                "INSERT INTO {} ({}) SELECT {} FROM stage_scope s WHERE {} AND NOT EXISTS (SELECT 1 FROM {} x WHERE x.TOKEN_ID = s.TOKEN_ID AND x.TOKEN_SCOPE = s.TOKEN_SCOPE)",
                scope.name,
                list(scope.columns),
                cols("s", scope.columns),
                token_exists("s"),
                scope.name
            ),
        ));
        out.push(self.counted(
            "bindings",
            &format!(
                "INSERT INTO {} ({}) SELECT {} FROM stage_binding b WHERE {} AND NOT EXISTS (SELECT 1 FROM {} x WHERE x.TOKEN_ID = b.TOKEN_ID AND x.TOKEN_BINDING_TYPE {same} b.TOKEN_BINDING_TYPE)",
                binding.name,
                list(binding.columns),
                cols("b", binding.columns),
                token_exists("b"),
                binding.name
            ),
        ));
        // A request object keeps its authorization code only where the
        // target has that code (codes are not copied: they live minutes).
        out.push(self.counted(
            "request_objects",
            &format!(
                "INSERT INTO {} ({}) SELECT r.CONSUMER_KEY_ID, (SELECT c.CODE_ID FROM IDN_OAUTH2_AUTHORIZATION_CODE c WHERE c.CODE_ID = r.CODE_ID), r.TOKEN_ID, r.SESSION_DATA_KEY FROM stage_request r WHERE {} AND NOT EXISTS (SELECT 1 FROM {} x WHERE x.TOKEN_ID = r.TOKEN_ID AND x.SESSION_DATA_KEY {same} r.SESSION_DATA_KEY)",
                request.name,
                list(request.columns),
                token_exists("r"),
                request.name
            ),
        ));
        out.push(self.counted(
            "revoked_jwts",
            &format!(
                "INSERT INTO {} ({}) SELECT {} FROM stage_jwt j WHERE NOT EXISTS (SELECT 1 FROM {} x WHERE x.UUID = j.UUID)",
                jwt.name,
                list(jwt.columns),
                cols("j", jwt.columns),
                jwt.name
            ),
        ));
        out.push("COMMIT;".to_string());
        out.join(" ")
    }

    /// The target's comparison with what the source holds: one line per
    /// difference, then `compared ...` with the counts; nothing changes.
    fn compare(self) -> String {
        let cat = |parts: &[&str]| -> String {
            match self {
                Dialect::Postgres => parts.join(" || "),
                Dialect::Mysql => format!("CONCAT({})", parts.join(", ")),
            }
        };
        let same = match self {
            Dialect::Postgres => "IS NOT DISTINCT FROM",
            Dialect::Mysql => "<=>",
        };
        let mut out = vec![
            format!(
                "SELECT {} FROM stage_token s WHERE NOT EXISTS (SELECT 1 FROM {TOKENS} t WHERE t.TOKEN_ID = s.TOKEN_ID);",
                cat(&["'missing token '", "s.TOKEN_ID"])
            ),
            format!(
                "SELECT {} FROM stage_token s JOIN {TOKENS} t ON t.TOKEN_ID = s.TOKEN_ID WHERE s.TOKEN_STATE <> 'ACTIVE' AND t.TOKEN_STATE = 'ACTIVE';",
                cat(&[
                    "'token '",
                    "s.TOKEN_ID",
                    "' is '",
                    "s.TOKEN_STATE",
                    "' in the source, ACTIVE in the target'"
                ])
            ),
            format!(
                "SELECT {} FROM stage_gone g JOIN {TOKENS} t ON t.TOKEN_ID = g.TOKEN_ID WHERE NOT EXISTS (SELECT 1 FROM stage_token s WHERE s.TOKEN_ID = g.TOKEN_ID);",
                cat(&[
                    "'token '",
                    "g.TOKEN_ID",
                    "' was invalidated in the source, the target still has it'"
                ])
            ),
            format!(
                "SELECT {} FROM stage_scope s WHERE NOT EXISTS (SELECT 1 FROM IDN_OAUTH2_ACCESS_TOKEN_SCOPE x WHERE x.TOKEN_ID = s.TOKEN_ID AND x.TOKEN_SCOPE = s.TOKEN_SCOPE);",
                cat(&[
                    "'missing scope '",
                    "s.TOKEN_SCOPE",
                    "' of token '",
                    "s.TOKEN_ID"
                ])
            ),
            format!(
                "SELECT {} FROM stage_binding b WHERE NOT EXISTS (SELECT 1 FROM IDN_OAUTH2_TOKEN_BINDING x WHERE x.TOKEN_ID = b.TOKEN_ID AND x.TOKEN_BINDING_TYPE {same} b.TOKEN_BINDING_TYPE);",
                cat(&["'missing binding of token '", "b.TOKEN_ID"])
            ),
            format!(
                "SELECT {} FROM stage_request r WHERE NOT EXISTS (SELECT 1 FROM IDN_OIDC_REQ_OBJECT_REFERENCE x WHERE x.TOKEN_ID = r.TOKEN_ID AND x.SESSION_DATA_KEY {same} r.SESSION_DATA_KEY);",
                cat(&["'missing request object of token '", "r.TOKEN_ID"])
            ),
            format!(
                "SELECT {} FROM stage_jwt j WHERE NOT EXISTS (SELECT 1 FROM AM_REVOKED_JWT x WHERE x.UUID = j.UUID);",
                cat(&["'missing revoked JWT '", "j.UUID"])
            ),
        ];
        let count = |stage: &str| -> String {
            match self {
                Dialect::Postgres => format!("(SELECT count(*) FROM {stage})::text"),
                Dialect::Mysql => format!("(SELECT COUNT(*) FROM {stage})"),
            }
        };
        let (tokens, scopes, bindings, requests, gone, jwts) = (
            count("stage_token"),
            count("stage_scope"),
            count("stage_binding"),
            count("stage_request"),
            count("stage_gone"),
            count("stage_jwt"),
        );
        out.push(format!(
            "SELECT {};",
            cat(&[
                "'compared tokens='",
                &tokens,
                "' scopes='",
                &scopes,
                "' bindings='",
                &bindings,
                "' request_objects='",
                &requests,
                "' invalidated='",
                &gone,
                "' revoked_jwts='",
                &jwts,
            ])
        ));
        out.push("ROLLBACK;".to_string());
        out.join(" ")
    }
}

/// A word of SQL in double quotes for the shell, with `WINDOW_START`
/// expanded in place of [`WINDOW`] (checked first: digits, dashes,
/// colons and a space).
fn with_window(sql: &str) -> String {
    let mut out = String::from("\"");
    for c in sql.chars() {
        if "\\\"$`".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out.replace(WINDOW, "${WINDOW_START}")
}

/// The check that `WINDOW_START` is a UTC time the queries can take.
const WINDOW_CHECK: &str = "[[ \"${WINDOW_START:?when the read-only window began, in UTC}\" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}\\ [0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] || { echo 'WINDOW_START must be YYYY-MM-DD HH:MM:SS, in UTC' >&2; exit 1; }";

/// The source's client printing what the target loads.
fn read(from: &Client, dialect: Dialect) -> String {
    let db = from.db;
    let (env, host, port, user, name) = (from.env(), &from.host, db.port, &from.user, &from.name);
    let statements = dialect.reads();
    match dialect {
        Dialect::Postgres => {
            let commands: Vec<String> = statements
                .iter()
                .map(|s| {
                    if s.starts_with('\\') {
                        format!("--command={}", q(s))
                    } else {
                        format!("--command={}", with_window(s))
                    }
                })
                .collect();
            format!(
                "{env} psql -X -q -v ON_ERROR_STOP=1 --single-transaction --host={host} --port={port} --username={user} --dbname={name} {}",
                commands.join(" ")
            )
        }
        Dialect::Mysql => format!(
            "{env} {} --batch --raw --skip-column-names --host={host} --port={port} --user={user} --execute={} {name}",
            super::programs(db.engine).0,
            with_window(&format!("{};", statements.join("; ")))
        ),
    }
}

/// One run from `from` to `to`: the target's session set-up, what the
/// source prints, then `tail` (only once the source has printed it all).
fn pipeline(from: &Client, to: &Client, dialect: Dialect, lock: bool, tail: &str) -> String {
    format!(
        "{{ printf '%s\\n' {} && {} && printf '%s\\n' {}; }} | {}",
        q(&dialect.head(lock)),
        read(from, dialect),
        q(tail),
        to.shell()
    )
}

/// One run of the sync from `from` to `to`, printing `name=N` for what it
/// changed.
fn sync(from: &Client, to: &Client, dialect: Dialect) -> String {
    format!(
        "( set -o pipefail; {WINDOW_CHECK}; {} )",
        pipeline(from, to, dialect, true, &dialect.apply())
    )
}

/// The comparison of both sides: fails, naming each difference, unless
/// the target holds every token the source selects (with the states that
/// left ACTIVE, the scopes, bindings, request objects and revoked JWTs).
fn compare(from: &Client, to: &Client, dialect: Dialect, what: &str) -> String {
    format!(
        "( set -o pipefail; {WINDOW_CHECK}; out=$({}) || exit 1; printf '%s\\n' \"$out\" | grep '^compared ' >&2 || exit 1; diffs=$(printf '%s\\n' \"$out\" | grep -v '^compared ' | grep -c . || true); [ \"$diffs\" = 0 ] || {{ echo {} >&2; printf '%s\\n' \"$out\" | grep -v '^compared ' | head -n 50 >&2; exit 1; }} )",
        pipeline(from, to, dialect, false, &dialect.compare()),
        q(&format!("{what}: $diffs differences (the first 50):")).replace("$diffs", "'\"$diffs\"'")
    )
}

/// The host names clients use, whose DNS the migration switches.
fn public_hosts(ctx: &Ctx) -> Vec<String> {
    ctx.input
        .deployment
        .sites
        .iter()
        .filter(|s| s.role == Role::Primary)
        .flat_map(|s| s.load_balancers.iter().map(|lb| lb.hostname.clone()))
        .collect()
}

/// The commands of the token sync step.
pub(super) fn commands(ctx: &Ctx, db: &DatabasePlan) -> Commands {
    let two_way = ctx
        .input
        .upgrade
        .is_some_and(|u| u.token_sync_mode() == TokenSync::TwoWay);
    let Some(dialect) = Dialect::of(db.engine) else {
        return Commands::run(
            vec![
                "\"${TOKEN_SYNC:?command that keeps access tokens in step between the deployments}\" start"
                    .to_string(),
            ],
            vec!["\"${TOKEN_SYNC:?}\" status".to_string()],
            vec!["\"${TOKEN_SYNC:?}\" stop".to_string()],
        );
    };
    let current = Client::new(db);
    let next = current.on(
        "\"${NEW_DB_HOST:?database host of the new deployment}\"",
        &current.name,
    );
    let mut runs = vec![sync(&current, &next, dialect)];
    let mut verify = vec![compare(
        &current,
        &next,
        dialect,
        "the new deployment lacks what the current one holds",
    )];
    if two_way {
        runs.push(sync(&next, &current, dialect));
        verify.push(compare(
            &next,
            &current,
            dialect,
            "the current deployment lacks what the new one holds",
        ));
    }
    let run = runs.join(" && ");
    let dir = "\"${DUMP_DIR:-dumps}\"";
    let (log, pid) = (
        format!("{dir}/token-sync.log"),
        format!("{dir}/token-sync.pid"),
    );
    let hosts = public_hosts(ctx);
    let switched = if hosts.is_empty() {
        "true".to_string()
    } else {
        hosts
            .iter()
            .map(|h| {
                format!(
                    "test \"$(getent ahosts {} | awk 'NR == 1 {{ print $1 }}')\" = \"$(getent ahosts \"${{NEW_ENDPOINT:?host name to switch to}}\" | awk 'NR == 1 {{ print $1 }}')\"",
                    q(h)
                )
            })
            .collect::<Vec<_>>()
            .join(" && ")
    };
    // Every minute until the DNS names have pointed at the new deployment
    // for 15 runs in a row that found nothing to copy; five failed runs in
    // a row stop it too. Its log says which.
    let repeat = format!(
        "mkdir -p {dir} && {{ ( trap '' HUP; quiet=0; failed=0; while sleep 60; do if out=$( {run} 2>&1 ); then failed=0; echo \"$(date -u '+%F %T') $(printf '%s' \"$out\" | tr '\\n' ' ')\"; if printf '%s\\n' \"$out\" | grep -q '=[1-9]'; then quiet=0; elif {switched}; then quiet=$((quiet + 1)); fi; if [ \"$quiet\" -ge 15 ]; then echo 'stopped: DNS points at the new deployment and 15 runs in a row found nothing to copy'; rm -f {pid}; exit 0; fi; else failed=$((failed + 1)); echo \"$(date -u '+%F %T') failed: $out\"; if [ \"$failed\" -ge 5 ]; then echo 'stopped: 5 runs in a row failed'; rm -f {pid}; exit 1; fi; fi; done ) >>{log} 2>&1 </dev/null & echo $! >{pid}; }}"
    );
    Commands::run(
        vec![run, repeat],
        verify,
        vec![format!(
            "if [ -s {pid} ]; then kill \"$(cat {pid})\" && rm -f {pid}; fi"
        )],
    )
}
