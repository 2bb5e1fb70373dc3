//! Runbooks as Markdown (for people, at 3 a.m.) and JSON (for tools).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Plan, Step};
use crate::deployment::Deployment;
use crate::model::format_number;
use crate::text::templates::{TemplateError, Templates};

/// The plan as the JSON of the CLI contract.
pub fn json(plan: &Plan) -> String {
    let mut text = serde_json::to_string_pretty(plan).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

#[derive(Serialize)]
struct View<'a> {
    plan: &'a Plan,
    target: &'static str,
    topology: &'a str,
    version: &'a str,
    floors: String,
    margin: String,
    /// What the plan was held to, when traffic replaced the peak floor.
    held: Option<String>,
    /// How the same plan fares at the peak floor, beside a plan held to
    /// traffic.
    at_peak: Option<String>,
    duration: String,
    /// Set when the expected duration exceeds the maintenance window.
    overrun: Option<String>,
    variables: Vec<(String, String)>,
    /// How long after a change in the primary each read-only datacenter
    /// serves it, during and after this runbook (Markdown).
    freshness: Vec<String>,
    mermaid: String,
    steps: Vec<StepView<'a>>,
}

#[derive(Serialize)]
struct StepView<'a> {
    #[serde(flatten)]
    step: &'a Step,
    serving_text: String,
}

fn rps(value: f64) -> String {
    format!("{} rps", format_number(value))
}

/// `2 h 15 min`
pub fn duration(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A Mermaid label: quoted, with the characters Mermaid would read as
/// markup written as entities.
fn mermaid_label(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '#' => out.push_str("#35;"),
            '`' => out.push_str("#96;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The step graph as a Mermaid flowchart.
pub fn mermaid(plan: &Plan) -> String {
    let mut lines = vec!["flowchart TD".to_string()];
    for step in &plan.steps {
        lines.push(format!(
            "    s{}[{}]",
            step.n,
            mermaid_label(&format!("{}. {}", step.n, step.title))
        ));
    }
    for step in &plan.steps {
        for before in &step.after {
            lines.push(format!("    s{before} --> s{}", step.n));
        }
    }
    lines.join("\n")
}

/// The plan as a Markdown runbook.
pub fn markdown(
    plan: &Plan,
    topology: &crate::model::Topology,
    deployment: &Deployment,
    templates: &Templates,
) -> Result<String, TemplateError> {
    let mut floors: BTreeMap<&str, f64> = BTreeMap::new();
    for step in &plan.steps {
        if let (Some(cluster), Some(required)) = (&step.cluster, step.required_rps) {
            floors.insert(cluster, required);
        }
    }
    let floors = floors
        .iter()
        .map(|(c, r)| format!("{c} {}", rps(*r)))
        .collect::<Vec<_>>()
        .join(", ");
    let text: String = plan
        .steps
        .iter()
        .flat_map(|s| s.commands.iter().chain(&s.verify).chain(&s.rollback))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    let mut variables: Vec<(String, String)> = super::commands::VARIABLES
        .iter()
        .filter(|(name, _)| text.contains(&format!("${{{name}")))
        .map(|(name, what)| (name.to_string(), what.to_string()))
        .collect();
    // The database passwords the database steps read, by the secret they
    // come from.
    let mut passwords: Vec<(String, String)> = deployment
        .sites
        .iter()
        .flat_map(|s| s.clusters.iter())
        .flat_map(|c| c.databases.iter())
        .filter(|db| text.contains(&format!("${{{}:?}}", db.password.env)))
        .map(|db| {
            (
                db.password.env.clone(),
                format!("the password of the secret {}", db.password.name),
            )
        })
        .collect();
    // The database administrators' passwords (the first deployment's and
    // a failover's database steps).
    for ds in &topology.datasources {
        let env = crate::model::naming::env_name(&ds.admin_password.name);
        if text.contains(&format!("${{{env}:?}}")) {
            passwords.push((
                env,
                format!(
                    "the password of the administrator {} of the server of {} (secret {})",
                    ds.admin_user, ds.name, ds.admin_password.name
                ),
            ));
        }
    }
    // The replication roles' passwords (a failover's re-pointed replicas).
    for ds in &topology.datasources {
        let env = crate::model::naming::env_name(&ds.replication_password.name);
        if text.contains(&format!("${{{env}:?}}")) {
            passwords.push((
                env,
                format!(
                    "the password of the replication role {} the replicas of {} connect as (secret {})",
                    ds.replication_user, ds.name, ds.replication_password.name
                ),
            ));
        }
    }
    passwords.sort();
    passwords.dedup_by(|a, b| a.0 == b.0);
    variables.extend(passwords);
    let steps = plan
        .steps
        .iter()
        .map(|step| StepView {
            step,
            serving_text: match (&step.serving, step.capacity_rps, step.required_rps) {
                (Some(serving), Some(capacity), Some(required)) => format!(
                    "{} ({} of {} required{})",
                    if serving.is_empty() {
                        "none".to_string()
                    } else {
                        serving.join(", ")
                    },
                    rps(capacity),
                    rps(required),
                    match step.margin_rps {
                        Some(margin) if margin < 0.0 => format!(", {} short", rps(-margin)),
                        Some(margin) => format!(", a margin of {}", rps(margin)),
                        None => String::new(),
                    }
                ),
                (Some(serving), _, _) => {
                    if serving.is_empty() {
                        "none".to_string()
                    } else {
                        serving.join(", ")
                    }
                }
                _ => String::new(),
            },
        })
        .collect();
    let view = View {
        freshness: freshness(plan, deployment),
        plan,
        target: plan.target.name(),
        topology: &deployment.topology,
        version: &deployment.version,
        floors,
        margin: plan.summary.lowest_margin_rps.map(rps).unwrap_or_default(),
        held: plan.held_to.as_ref().map(|h| h.describe()),
        at_peak: plan.at_peak.as_ref().map(|p| match (p.safe, p.violations.first()) {
            (true, _) => format!(
                "safe too: the lowest margin is {} above degraded_capacity x peak_load",
                p.lowest_margin_rps.map(rps).unwrap_or_else(|| "0 rps".to_string())
            ),
            (false, Some(first)) => format!(
                "NOT safe at degraded_capacity x peak_load: step {} {}; run it in its window only",
                first.step, first.message
            ),
            (false, None) => "NOT safe at degraded_capacity x peak_load".to_string(),
        }),
        duration: duration(plan.summary.minutes),
        overrun: plan
            .window
            .as_deref()
            .and_then(crate::model::window_minutes)
            .filter(|&window| plan.summary.minutes > window)
            .map(|window| {
                format!(
                    "the expected duration is longer than the window ({}): plan more than one window, or start early",
                    duration(window)
                )
            }),
        variables,
        mermaid: mermaid(plan),
        steps,
    };
    templates.render("runbook/runbook.md.j2", &view)
}

/// The staleness bound of every read-only site, as it stands during the
/// runbook; after a failover the site's copies of the control planes relay
/// (their configuration carries the relay from the start).
fn freshness(plan: &Plan, deployment: &Deployment) -> Vec<String> {
    let successor = plan
        .failover_to
        .as_ref()
        .and_then(|name| deployment.sites.iter().find(|s| s.name == *name));
    deployment
        .sites
        .iter()
        .filter_map(|site| {
            let freshness = site.freshness.as_ref()?;
            Some(match successor {
                None => freshness.bound(&site.name),
                Some(successor) => {
                    let after = if site_relays_from(successor, &site.name) {
                        format!(
                            "after it the control planes of `{}` relay in place of `{}`'s, with the same bound.",
                            successor.name, freshness.primary
                        )
                    } else {
                        format!(
                            "after it nothing in `{}` relays events to `{}`: {}.",
                            successor.name,
                            site.name,
                            crate::model::UNRELAYED
                        )
                    };
                    format!("Until the failover: {} And {after}", freshness.bound(&site.name))
                }
            })
        })
        .collect()
}

/// Whether a control plane of `source` relays its events to `datacenter`.
fn site_relays_from(source: &crate::deployment::Site, datacenter: &str) -> bool {
    source
        .clusters
        .iter()
        .flat_map(|c| c.relay_to.iter())
        .any(|t| t.datacenter == datacenter)
}

/// The files of one target that a change adds, removes or changes.
#[derive(Serialize)]
struct ArtifactGroup<'a> {
    target: &'static str,
    summary: String,
    files: Vec<&'a crate::change::artifacts::ArtifactChange>,
}

#[derive(Serialize)]
struct ChangeView<'a> {
    since: &'a str,
    summary: String,
    changes: &'a [crate::change::Change],
    plan: &'a Plan,
    safe: bool,
    target: &'static str,
    duration: String,
    violations: &'a [super::Violation],
    artifacts: Vec<ArtifactGroup<'a>>,
    runbook: String,
}

/// One change in a few words: `scale-out of gateway in colombo (2 to 4)`.
fn describe(change: &crate::change::Change) -> String {
    let mut text = change.kind.name().to_string();
    match (&change.cluster, &change.datacenter) {
        (Some(c), Some(dc)) => text.push_str(&format!(" of {c} in {dc}")),
        (None, Some(dc)) => text.push_str(&format!(" {dc}")),
        _ => {}
    }
    match (&change.from, &change.to) {
        (Some(from), Some(to)) => text.push_str(&format!(" ({from} to {to})")),
        (None, Some(to)) => text.push_str(&format!(" ({to})")),
        _ => {}
    }
    text
}

/// Whether a change plan is safe: its runbook is, and it makes no change
/// that cannot be made in place.
pub fn change_is_safe(plan: &Plan, changes: &crate::change::ChangeSet) -> bool {
    plan.safe && !changes.has(crate::change::ChangeKind::Unsupported)
}

/// A commit's change as Markdown for a pull request: what changes, the
/// files each target's build changes, then the runbook.
pub fn change_markdown(
    since: &str,
    plan: &Plan,
    changes: &crate::change::ChangeSet,
    artifacts: &[crate::change::artifacts::ArtifactChange],
    topology: &crate::model::Topology,
    deployment: &Deployment,
    templates: &Templates,
) -> Result<String, TemplateError> {
    let summary = if changes.changes.is_empty() {
        "Nothing that runs changes: no step to take.".to_string()
    } else {
        let list: Vec<String> = changes.changes.iter().map(describe).collect();
        format!("{}.", list.join("; "))
    };
    let mut groups: Vec<ArtifactGroup> = Vec::new();
    for file in artifacts {
        match groups.last_mut() {
            Some(group) if group.target == file.target => group.files.push(file),
            _ => groups.push(ArtifactGroup {
                target: file.target,
                summary: String::new(),
                files: vec![file],
            }),
        }
    }
    for group in &mut groups {
        let count = |c: crate::change::artifacts::FileChange| {
            group.files.iter().filter(|f| f.change == c).count()
        };
        use crate::change::artifacts::FileChange::*;
        group.summary = format!(
            "{} added, {} removed, {} changed",
            count(Added),
            count(Removed),
            count(Changed)
        );
    }
    let runbook = if plan.steps.is_empty() {
        String::new()
    } else {
        markdown(plan, topology, deployment, templates)?
    };
    let view = ChangeView {
        since,
        summary,
        changes: &changes.changes,
        plan,
        safe: change_is_safe(plan, changes),
        target: plan.target.name(),
        duration: duration(plan.summary.minutes),
        violations: &plan.violations,
        artifacts: groups,
        runbook,
    };
    templates.render("runbook/change.md.j2", &view)
}

/// A commit's change as JSON: the plan's fields, with what it was compared
/// with, the changes and the files that change.
pub fn change_json(
    since: &str,
    plan: &Plan,
    changes: &crate::change::ChangeSet,
    artifacts: &[crate::change::artifacts::ArtifactChange],
) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("since".into(), since.into());
        map.insert(
            "safe".into(),
            serde_json::Value::Bool(change_is_safe(plan, changes)),
        );
        map.insert(
            "changes".into(),
            serde_json::to_value(&changes.changes).unwrap_or_default(),
        );
        map.insert(
            "artifacts".into(),
            serde_json::to_value(artifacts).unwrap_or_default(),
        );
    }
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
