//! The first deployment as a runbook (`topoc plan PATH --bootstrap`,
//! `runbooks/bootstrap.md`): the operator's files and secrets, the
//! databases and their users, the product's own schema (the `dbscripts` of
//! the pack), the replicas of the other datacenters, then every running
//! datacenter in order (the primary first) and, in each, its clusters in
//! start order, each tested; traffic opens on a datacenter only once all
//! of its clusters are up. The simulator holds the plan to the floor from
//! the moment traffic opens.

use super::{Action, Draft, Effect, Input};
use crate::deployment::{ClusterPlan, DatabasePlan, Site};
use crate::model::{DsId, Engine, Purpose, Role};
use crate::text::escape::shell_word as q;

/// A draft of a step on no cluster.
fn general(
    drafts: &mut Vec<Draft>,
    action: Action,
    site: Option<usize>,
    title: String,
    after: Vec<usize>,
    databases: Vec<String>,
) -> usize {
    drafts.push(Draft {
        action,
        site,
        cluster: None,
        node: None,
        title,
        effect: Effect::None,
        after,
        note: None,
        databases,
    });
    drafts.len() - 1
}

/// The steps of the first deployment.
pub(crate) fn drafts(input: &Input) -> Vec<Draft> {
    let t = input.topology;
    let d = input.deployment;
    let mut drafts = Vec::new();
    let prepare = general(
        &mut drafts,
        Action::Prepare,
        None,
        "Check the operator's files and create the secrets".to_string(),
        Vec::new(),
        Vec::new(),
    );
    // Databases: the primary's are created and loaded; every other
    // datacenter's are replicas of them, set up from the loaded copies.
    let mut schema_steps: Vec<(DsId, usize)> = Vec::new();
    for (index, ds) in t.datasources.iter().enumerate() {
        if ds.replica_of.is_some() || t.dc(ds.datacenter).role() != Some(Role::Primary) {
            continue;
        }
        let site = d
            .sites
            .iter()
            .position(|s| s.name == t.dc(ds.datacenter).name);
        let create = general(
            &mut drafts,
            Action::CreateDb,
            site,
            format!("Create database {} and its user", ds.name),
            vec![prepare],
            vec![ds.name.clone()],
        );
        let load = general(
            &mut drafts,
            Action::LoadSchema,
            site,
            format!("Load WSO2's {} schema into {}", d.version, ds.name),
            vec![create],
            vec![ds.name.clone()],
        );
        schema_steps.push((DsId(index), load));
    }
    let mut replica_steps: Vec<(usize, usize)> = Vec::new();
    for (index, ds) in t.datasources.iter().enumerate() {
        if ds.replica_of.is_none() {
            continue;
        }
        let root = t.replica_root(DsId(index));
        let Some(&(_, load)) = schema_steps.iter().find(|(r, _)| *r == root) else {
            continue;
        };
        let Some(site) = d
            .sites
            .iter()
            .position(|s| s.name == t.dc(ds.datacenter).name)
        else {
            continue;
        };
        let step = general(
            &mut drafts,
            Action::StartSync,
            Some(site),
            format!(
                "Set up {} as a replica of {}",
                ds.name,
                t.datasource(root).name
            ),
            vec![load],
            vec![ds.name.clone(), t.datasource(root).name.clone()],
        );
        replica_steps.push((site, step));
    }
    let schemas: Vec<usize> = schema_steps.iter().map(|(_, s)| *s).collect();
    // The datacenters that run, the primary first; a warm or cold
    // disaster-recovery site waits for its failover runbook.
    let mut order: Vec<usize> = (0..d.sites.len())
        .filter(|&i| d.sites[i].running())
        .collect();
    order.sort_by_key(|&i| d.sites[i].role != Role::Primary);
    let mut previous_site: Vec<usize> = Vec::new();
    for index in order {
        let site = &d.sites[index];
        let mut ready: Vec<usize> = if site.role == Role::Primary {
            schemas.clone()
        } else {
            replica_steps
                .iter()
                .filter(|(s, _)| *s == index)
                .map(|(_, step)| *step)
                .collect()
        };
        ready.push(prepare);
        ready.extend(previous_site.iter().copied());
        let mut finished: Vec<(u8, Vec<usize>)> = Vec::new();
        for cluster in site.start_order() {
            let mut chain = ready.clone();
            for (rank, ends) in &finished {
                if *rank < cluster.start_rank {
                    chain.extend(ends.iter().copied());
                }
            }
            drafts.push(Draft {
                action: Action::StartNode,
                site: Some(index),
                cluster: Some(cluster.label.clone()),
                node: cluster.nodes.first().map(|n| n.name.clone()),
                title: match cluster.nodes.len() {
                    1 => format!("Start {} (1 node)", cluster.label),
                    n => format!("Start {} ({n} nodes)", cluster.label),
                },
                effect: Effect::StartAll,
                after: std::mem::take(&mut chain),
                note: None,
                databases: Vec::new(),
            });
            chain = vec![drafts.len() - 1];
            drafts.push(Draft {
                action: Action::Test,
                site: Some(index),
                cluster: Some(cluster.label.clone()),
                node: cluster.nodes.first().map(|n| n.name.clone()),
                title: format!("Test {}", cluster.label),
                effect: Effect::None,
                after: chain,
                note: None,
                databases: Vec::new(),
            });
            finished.push((cluster.start_rank, vec![drafts.len() - 1]));
        }
        let started: Vec<usize> = finished.into_iter().flat_map(|(_, e)| e).collect();
        let open = general(
            &mut drafts,
            Action::OpenTraffic,
            Some(index),
            if site.load_balancers.is_empty() {
                format!(
                    "Open datacenter {} to traffic: its clients reach the nodes by their names",
                    site.name
                )
            } else {
                format!(
                    "Open datacenter {} to traffic: start its load balancers",
                    site.name
                )
            },
            started,
            Vec::new(),
        );
        previous_site = vec![open];
    }
    drafts
}

/// What a bootstrap step runs.
pub(crate) struct Step<'a> {
    pub input: &'a Input<'a>,
    pub site: Option<&'a Site>,
    pub cluster: Option<&'a ClusterPlan>,
    pub draft: &'a Draft,
}

/// The database a step names (its first), as a node sees it.
fn database<'a>(step: &Step<'a>, name: &str) -> Option<&'a DatabasePlan> {
    step.input
        .deployment
        .sites
        .iter()
        .flat_map(|s| s.clusters.iter())
        .flat_map(|c| c.databases.iter())
        .find(|db| db.name == name)
}

/// The administrator of a datasource's server: its user (a shell word)
/// and the variable its password is read from.
fn admin(step: &Step, name: &str) -> (String, String) {
    let t = step.input.topology;
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
        Engine::Mysql => "mysql",
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

/// A MySQL string literal.
fn mysql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A MySQL identifier.
fn mysql_identifier(text: &str) -> String {
    format!("`{}`", text.replace('`', "``"))
}

/// The commands of a step of the first deployment, for the steps it has
/// commands of its own for (the others, such as tests, are every plan's).
pub(crate) fn owns(step: &Step) -> Option<super::commands::Commands> {
    match step.draft.action {
        Action::Prepare
        | Action::CreateDb
        | Action::LoadSchema
        | Action::StartSync
        | Action::StartNode
        | Action::OpenTraffic => Some(commands(step)),
        _ => None,
    }
}

fn commands(step: &Step) -> super::commands::Commands {
    use super::commands::Commands;
    let draft = step.draft;
    match draft.action {
        Action::Prepare => prepare(step),
        Action::CreateDb | Action::LoadSchema => {
            let Some(db) = draft.databases.first().and_then(|n| database(step, n)) else {
                return Commands::default();
            };
            if draft.action == Action::CreateDb {
                create_database(step, db)
            } else {
                load_schema(step, db)
            }
        }
        Action::StartSync => replica(step),
        Action::StartNode => start(step),
        Action::OpenTraffic => open_traffic(step),
        _ => Commands::default(),
    }
}

fn manual(text: &str, verify: Vec<String>) -> super::commands::Commands {
    super::commands::Commands {
        commands: vec![format!("echo {}", q(text))],
        verify,
        rollback: Vec::new(),
        manual: true,
    }
}

fn create_database(step: &Step, db: &DatabasePlan) -> super::commands::Commands {
    use super::commands::Commands;
    let (admin_user, admin_env) = admin(step, &db.name);
    let (host, port, user, name) = (q(&db.host), db.port, q(&db.user), q(&db.database));
    let pw = &db.password.env;
    match db.engine {
        Engine::Mysql => {
            let sql = "CREATE DATABASE IF NOT EXISTS %s CHARACTER SET latin1; CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY '%s'; GRANT ALL PRIVILEGES ON %s.* TO %s@'%%'";
            let (ident, login) = (
                q(&mysql_identifier(&db.database)),
                q(&mysql_literal(&db.user)),
            );
            Commands {
                commands: vec![format!(
                    "MYSQL_PWD=\"${{{admin_env}:?}}\" mysql --host={host} --port={port} --user={admin_user} --execute=\"$(printf {} {ident} {login} \"$(printf '%s' \"${{{pw}:?}}\" | sed -e 's/\\\\/\\\\\\\\/g' -e \"s/'/''/g\")\" {ident} {login})\"",
                    q(sql)
                )],
                verify: vec![format!(
                    "MYSQL_PWD=\"${{{pw}:?}}\" mysql --host={host} --port={port} --user={user} --execute='SELECT 1' {name}"
                )],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Engine::Postgres => {
            let sql = "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'user', :'pw') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'user') \\gexec\nSELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \\gexec";
            Commands {
                commands: vec![format!(
                    "printf '%s\\n' {} | PGPASSWORD=\"${{{admin_env}:?}}\" psql --host={host} --port={port} --username={admin_user} --dbname=postgres -v ON_ERROR_STOP=1 -v user={user} -v db={name} -v pw=\"${{{pw}:?}}\"",
                    q(sql)
                )],
                verify: vec![format!(
                    "PGPASSWORD=\"${{{pw}:?}}\" psql --host={host} --port={port} --username={user} --dbname={name} --command='SELECT 1'"
                )],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Engine::Mssql => manual(
            &format!(
                "As a SQL Server administrator on {}:{port}: CREATE DATABASE for {}, a login and user {} with the password of secret {}, and make it db_owner of the database",
                db.host, db.database, db.user, db.password.name
            ),
            vec![format!(
                "SQLCMDPASSWORD=\"${{{pw}:?}}\" sqlcmd -S {host},{port} -U {user} -C -d {name} -Q 'SELECT 1'"
            )],
        ),
        Engine::Oracle => manual(
            &format!(
                "As an Oracle administrator on {}:{port} (service {}): create the user {} with the password of secret {}, with CREATE SESSION, CREATE TABLE, CREATE SEQUENCE, CREATE TRIGGER and a quota on its tablespace",
                db.host, db.database, db.user, db.password.name
            ),
            vec![format!(
                "printf 'connect %s/\"%s\"@%s\\nSELECT 1 FROM DUAL;\\n' {user} \"${{{pw}:?}}\" {} | sqlplus -S -L /nolog | grep -q '^ *1$'",
                q(&format!("//{}:{port}/{}", db.host, db.database))
            )],
        ),
    }
}

/// The variable naming the unpacked product pack.
const PACK: &str = "${PRODUCT_HOME:?folder of the unpacked WSO2 API Manager pack of this version}";

fn load_schema(_step: &Step, db: &DatabasePlan) -> super::commands::Commands {
    use super::commands::Commands;
    let (host, port, user, name) = (q(&db.host), db.port, q(&db.user), q(&db.database));
    let pw = &db.password.env;
    let file = format!("\"{PACK}\"/{}", q(&script(db)));
    let table = marker_table(db);
    match db.engine {
        Engine::Mysql => {
            let client = format!(
                "MYSQL_PWD=\"${{{pw}:?}}\" mysql --host={host} --port={port} --user={user}"
            );
            let count = format!(
                "{client} --skip-column-names --execute={} {name}",
                q(&format!(
                    "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
                ))
            );
            Commands {
                commands: vec![format!(
                    "if [ \"$({count})\" = 0 ]; then {client} {name} < {file}; fi"
                )],
                verify: vec![format!("test \"$({count})\" = 1")],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Engine::Postgres => {
            let client = format!(
                "PGPASSWORD=\"${{{pw}:?}}\" psql --host={host} --port={port} --username={user} --dbname={name}"
            );
            let exists = format!(
                "{client} --tuples-only --no-align --command={}",
                q(&format!("SELECT to_regclass('{table}') IS NOT NULL"))
            );
            Commands {
                commands: vec![format!(
                    "if [ \"$({exists})\" = f ]; then {client} -v ON_ERROR_STOP=1 --file={file}; fi"
                )],
                verify: vec![format!("test \"$({exists})\" = t")],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Engine::Mssql => {
            let client = format!(
                "SQLCMDPASSWORD=\"${{{pw}:?}}\" sqlcmd -S {host},{port} -U {user} -C -d {name}"
            );
            let count = format!(
                "{client} -h -1 -W -Q {}",
                q(&format!(
                    "SET NOCOUNT ON; SELECT COUNT(*) FROM sys.tables WHERE name = '{table}'"
                ))
            );
            Commands {
                commands: vec![format!(
                    "if [ \"$({count})\" = 0 ]; then {client} -b -i {file}; fi"
                )],
                verify: vec![format!("test \"$({count})\" = 1")],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Engine::Oracle => {
            let connect = format!(
                "printf 'connect %s/\"%s\"@%s\\n' {user} \"${{{pw}:?}}\" {}",
                q(&format!("//{}:{port}/{}", db.host, db.database))
            );
            let count = format!(
                "{{ {connect}; echo {}; }} | sqlplus -S -L /nolog | tr -d ' '",
                q(&format!(
                    "SET HEADING OFF FEEDBACK OFF\nSELECT COUNT(*) FROM user_tables WHERE table_name = '{table}';"
                ))
            );
            Commands {
                commands: vec![format!(
                    "if [ \"$({count})\" = 0 ]; then {{ {connect}; echo 'WHENEVER SQLERROR EXIT FAILURE'; printf '@%s\\nexit\\n' {file}; }} | sqlplus -S -L /nolog; fi"
                )],
                verify: vec![format!("test \"$({count})\" = 1")],
                rollback: Vec::new(),
                manual: false,
            }
        }
    }
}

/// A replica of the primary's database: set up by its database
/// administrator (how depends on the engine and the replication chosen);
/// the verification checks it answers read-only with WSO2's tables.
fn replica(step: &Step) -> super::commands::Commands {
    let names = &step.draft.databases;
    let (Some(replica), Some(source)) = (
        names.first().and_then(|n| database(step, n)),
        names.get(1).and_then(|n| database(step, n)),
    ) else {
        return manual(&step.draft.title, Vec::new());
    };
    let (host, port, user, name) = (
        q(&replica.host),
        replica.port,
        q(&replica.user),
        q(&replica.database),
    );
    let pw = &replica.password.env;
    let table = marker_table(replica);
    let (how, verify) = match replica.engine {
        Engine::Mysql => (
            format!(
                "On {}: load a consistent copy of {} from {} (mysqldump --single-transaction --source-data, or a physical backup), then CHANGE REPLICATION SOURCE TO SOURCE_HOST = '{}', SOURCE_PORT = {}, SOURCE_USER = <a replication user>, SOURCE_AUTO_POSITION = 1; START REPLICA; SET PERSIST read_only = ON (MariaDB: CHANGE MASTER TO ... MASTER_USE_GTID = slave_pos; START SLAVE; read_only = ON in its configuration)",
                replica.host, replica.database, source.host, source.host, source.port
            ),
            vec![
                format!(
                    "test \"$(MYSQL_PWD=\"${{{pw}:?}}\" mysql --host={host} --port={port} --user={user} --skip-column-names --execute='SELECT @@global.read_only')\" = 1"
                ),
                format!(
                    "test \"$(MYSQL_PWD=\"${{{pw}:?}}\" mysql --host={host} --port={port} --user={user} --skip-column-names --execute={} {name})\" = 1",
                    q(&format!(
                        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = '{table}'"
                    ))
                ),
            ],
        ),
        Engine::Postgres => (
            format!(
                "On {}: pg_basebackup --host={} --port={} --username=<a replication role> --pgdata=<its data folder> --write-recovery-conf --wal-method=stream, then start it as a standby of {}",
                replica.host, source.host, source.port, source.host
            ),
            vec![
                format!(
                    "test \"$(PGPASSWORD=\"${{{pw}:?}}\" psql --host={host} --port={port} --username={user} --dbname={name} --tuples-only --no-align --command='SELECT pg_is_in_recovery()')\" = t"
                ),
                format!(
                    "test \"$(PGPASSWORD=\"${{{pw}:?}}\" psql --host={host} --port={port} --username={user} --dbname={name} --tuples-only --no-align --command={})\" = t",
                    q(&format!("SELECT to_regclass('{table}') IS NOT NULL"))
                ),
            ],
        ),
        Engine::Mssql => (
            format!(
                "On {}: add {} to an availability group (or log shipping) from {} as a readable secondary",
                replica.host, replica.database, source.host
            ),
            vec![format!(
                "SQLCMDPASSWORD=\"${{{pw}:?}}\" sqlcmd -S {host},{port} -U {user} -C -d {name} -b -Q {}",
                q(&format!("SELECT TOP 1 1 FROM {table}"))
            )],
        ),
        Engine::Oracle => (
            format!(
                "On {}: set up a Data Guard standby (Active Data Guard, open read-only) of {} from {}",
                replica.host, replica.database, source.host
            ),
            Vec::new(),
        ),
    };
    manual(&how, verify)
}

/// The operator's files, secrets and images, per target.
fn prepare(step: &Step) -> super::commands::Commands {
    use super::commands::Commands;
    use super::commands::Target;
    let d = step.input.deployment;
    let files = format!("../{}", d.operator_files);
    let mut needed: Vec<String> = d
        .secrets
        .iter()
        .map(|s| format!("{files}/secrets/{}", s.name))
        .collect();
    needed.extend(d.drivers.iter().map(|j| format!("{files}/lib/{j}")));
    needed.extend(
        d.keystores
            .supplied()
            .iter()
            .map(|s| format!("{files}/security/{}", s.file)),
    );
    let check = |paths: &[String]| -> String {
        let words: Vec<String> = paths.iter().map(|p| q(p)).collect();
        format!(
            "( for file in {}; do test -s \"$file\" || {{ echo \"missing: $file\" >&2; exit 1; }}; done )",
            words.join(" ")
        )
    };
    let mut out = Commands::default();
    match step.input.target {
        Target::Kubernetes => {
            out.commands.push(check(&needed));
            for image in &d.built_images {
                out.commands.push(format!(
                    "docker build --build-arg WSO2AM_IMAGE={} -t {} -f {} {} && docker push {}",
                    q(&image.from),
                    q(&image.tag),
                    q(&image.dockerfile),
                    q(&format!("{files}/lib")),
                    q(&image.tag)
                ));
                out.verify.push(format!(
                    "docker manifest inspect {} >/dev/null",
                    q(&image.tag)
                ));
            }
            for site in &d.sites {
                let ns = q(&site.namespace);
                out.commands.push(format!(
                    "kubectl apply -f {}",
                    q(&format!("kubernetes/{}/00-namespace.yaml", site.name))
                ));
                let secrets: Vec<String> = site
                    .secrets
                    .iter()
                    .map(|s| {
                        format!(
                            "--from-file={}",
                            q(&format!("{}={files}/secrets/{}", s.name, s.name))
                        )
                    })
                    .collect();
                let secret = d.secret_name();
                out.commands.push(format!(
                    "kubectl -n {ns} create secret generic {} {} --dry-run=client -o yaml | kubectl apply -f -",
                    q(&secret),
                    secrets.join(" ")
                ));
                out.verify
                    .push(format!("kubectl -n {ns} get secret {}", q(&secret)));
                let stores = d.keystores.supplied();
                if !stores.is_empty() {
                    let keystores = d.keystore_secret_name();
                    let from: Vec<String> = stores
                        .iter()
                        .map(|s| {
                            format!(
                                "--from-file={}",
                                q(&format!("{}={files}/security/{}", s.file, s.file))
                            )
                        })
                        .collect();
                    out.commands.push(format!(
                        "kubectl -n {ns} create secret generic {} {} --dry-run=client -o yaml | kubectl apply -f -",
                        q(&keystores),
                        from.join(" ")
                    ));
                    out.verify
                        .push(format!("kubectl -n {ns} get secret {}", q(&keystores)));
                }
                if let Some(login) = &d.registry_login {
                    out.commands.push(format!(
                        "kubectl -n {ns} create secret docker-registry {} --docker-server={} --docker-username=\"${{REGISTRY_USER:?user of the image registry}}\" --docker-password=\"${{REGISTRY_PASSWORD:?password of the image registry}}\" --dry-run=client -o yaml | kubectl apply -f -",
                        q(&login.name),
                        q(d.registry.split('/').next().unwrap_or(&d.registry))
                    ));
                    out.verify
                        .push(format!("kubectl -n {ns} get secret {}", q(&login.name)));
                }
                for file in ["10-storage.yaml", "15-artifact-sync.yaml"] {
                    out.commands.push(format!(
                        "if [ -f {0} ]; then kubectl apply -f {0}; fi",
                        q(&format!("kubernetes/{}/{file}", site.name))
                    ));
                }
            }
        }
        Target::Compose => {
            let mut paths = needed;
            for site in d.sites.iter().filter(|s| s.running()) {
                paths.extend(site.load_balancers.iter().flat_map(|lb| {
                    ["crt", "key"].map(|x| format!("{files}/tls/{}.{x}", lb.label))
                }));
            }
            out.commands.push(check(&paths));
            out.verify.push(check(&paths));
            if d.registry_login.is_some() {
                out.commands.push(format!(
                    "printf '%s' \"${{REGISTRY_PASSWORD:?password of the image registry}}\" | docker login --username \"${{REGISTRY_USER:?user of the image registry}}\" --password-stdin {}",
                    q(d.registry.split('/').next().unwrap_or(&d.registry))
                ));
            }
            for site in d.sites.iter().filter(|s| s.running()) {
                out.commands.push(format!(
                    "docker compose -f {} pull",
                    q(&format!("compose/{}/compose.yaml", site.name))
                ));
            }
        }
        Target::Puppet => {
            // The build and the operator's Hiera secrets on the Puppet
            // server; each host holds its pack, drivers and keystores.
            let env = "\"${PUPPET_ENVIRONMENT:?path of the Puppet environment, e.g. /etc/puppetlabs/code/environments/production}\"";
            out.commands
                .push(format!("rsync -a --delete puppet/ {env}/"));
            out.commands.push(format!(
                "mkdir -p {env}/../../{0}/puppet && cp {1} {env}/../../{0}/puppet/secrets.yaml",
                q(&d.operator_files),
                q(&format!("{files}/puppet/secrets.yaml"))
            ));
            out.verify.push(format!(
                "test -s {env}/../../{}/puppet/secrets.yaml",
                q(&d.operator_files)
            ));
            let mut hosts: Vec<(String, String)> = Vec::new();
            for site in &d.sites {
                for cluster in &site.clusters {
                    let mut files: Vec<String> =
                        vec![format!("/opt/wso2/packs/{}.zip", cluster.product_dir)];
                    files.extend(
                        cluster
                            .drivers
                            .iter()
                            .map(|j| format!("/opt/wso2/packs/lib/{j}")),
                    );
                    files.extend(
                        d.keystores
                            .supplied()
                            .iter()
                            .map(|s| format!("/opt/wso2/packs/security/{}", s.file)),
                    );
                    for node in &cluster.nodes {
                        hosts.push((
                            node.fqdn.clone(),
                            files.iter().map(|f| q(f)).collect::<Vec<_>>().join(" "),
                        ));
                    }
                }
            }
            for (host, files) in hosts {
                let probe = format!(
                    "ssh {} {}",
                    q(&host),
                    q(&format!(
                        "for f in {files}; do test -s \"$f\" || {{ echo \"missing: $f\" >&2; exit 1; }}; done"
                    ))
                );
                out.verify.push(probe);
            }
        }
    }
    out
}

/// Traffic reaches a datacenter: its load balancers start.
fn open_traffic(step: &Step) -> super::commands::Commands {
    use super::commands::{Commands, Target};
    let Some(site) = step.site else {
        return Commands::default();
    };
    let mut out = Commands::default();
    if site.load_balancers.is_empty() {
        return manual(
            &format!(
                "point the DNS names clients use at the nodes of {} (out/README.md lists them)",
                site.name
            ),
            Vec::new(),
        );
    }
    match step.input.target {
        Target::Kubernetes => {
            for file in ["30-ingress.yaml", "31-read-only-gate.yaml"] {
                out.commands.push(format!(
                    "if [ -f {0} ]; then kubectl apply -f {0}; fi",
                    q(&format!("kubernetes/{}/{file}", site.name))
                ));
            }
        }
        Target::Compose => out.commands.push(format!(
            "docker compose -f {} up -d --wait --no-deps load-balancer",
            q(&format!("compose/{}/compose.yaml", site.name))
        )),
        Target::Puppet => out.commands.push(format!(
            "ssh {} sudo puppet agent --test || test $? -eq 2",
            q(&format!("load-balancer.{}", site.domain))
        )),
    }
    for lb in &site.load_balancers {
        out.verify.push(format!(
            "code=$(curl -sk -o /dev/null -w '%{{http_code}}' {}); [ \"$code\" != 000 ] && [ \"${{code#5}}\" = \"$code\" ]",
            q(&format!("https://{}/", lb.hostname))
        ));
    }
    out
}

/// A cluster starts, every node of it: its manifests (Kubernetes), its
/// services (Compose), its hosts' Puppet runs; each node then answers.
fn start(step: &Step) -> super::commands::Commands {
    use super::commands::{Commands, Target};
    let (Some(site), Some(cluster)) = (step.site, step.cluster) else {
        return Commands::default();
    };
    let mut out = Commands::default();
    let health = "curl -fsS -o /dev/null http://localhost:9763/services/Version";
    match step.input.target {
        Target::Kubernetes => {
            let ns = q(&site.namespace);
            out.commands.push(format!(
                "kubectl apply -f {}",
                q(&format!(
                    "kubernetes/{}/2{}-{}.yaml",
                    site.name, cluster.start_rank, cluster.label
                ))
            ));
            match cluster.shape {
                crate::deployment::Shape::Scaled => out.verify.push(format!(
                    "kubectl -n {ns} rollout status {} --timeout=15m",
                    q(&format!("deployment/{}", cluster.label))
                )),
                crate::deployment::Shape::Paired => {
                    for node in &cluster.nodes {
                        let dep = q(&format!("deployment/{}", node.name));
                        out.verify.push(format!(
                            "( for _ in $(seq 90); do kubectl -n {ns} exec {dep} -c wso2am -- {health} && exit 0; sleep 10; done; echo {} >&2; exit 1 )",
                            q(&format!("{} did not become healthy in 15 minutes", node.name))
                        ));
                    }
                }
            }
        }
        Target::Compose => {
            let file = q(&format!("compose/{}/compose.yaml", site.name));
            let services: Vec<String> = cluster.nodes.iter().map(|n| q(&n.name)).collect();
            out.commands.push(format!(
                "docker compose -f {file} up -d --wait {}",
                services.join(" ")
            ));
            for node in &cluster.nodes {
                out.verify.push(format!(
                    "docker compose -f {file} exec -T {} {health}",
                    q(&node.name)
                ));
            }
        }
        Target::Puppet => {
            for node in &cluster.nodes {
                let host = q(&node.fqdn);
                out.commands.push(format!(
                    "ssh {host} sudo puppet agent --test || test $? -eq 2"
                ));
                out.verify.push(format!("ssh {host} {}", q(health)));
            }
        }
    }
    out
}
