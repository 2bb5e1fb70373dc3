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
                    "{} ({} of {} required)",
                    if serving.is_empty() {
                        "none".to_string()
                    } else {
                        serving.join(", ")
                    },
                    rps(capacity),
                    rps(required)
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
        duration: duration(plan.summary.minutes),
        overrun: plan
            .window
            .as_deref()
            .and_then(window_minutes)
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

/// The length of a window written as `... HH:MM-HH:MM ...` (past midnight
/// when the end comes before the start), in minutes.
fn window_minutes(window: &str) -> Option<u32> {
    let bytes = window.as_bytes();
    let time = |at: usize| -> Option<(u32, usize)> {
        let rest = &window[at..];
        let colon = rest.find(':')?;
        let hours: u32 = rest[..colon].parse().ok()?;
        let minutes: u32 = rest.get(colon + 1..colon + 3)?.parse().ok()?;
        (hours < 24 && minutes < 60).then_some((hours * 60 + minutes, at + colon + 3))
    };
    for start in 0..bytes.len() {
        if !bytes[start].is_ascii_digit() || (start > 0 && bytes[start - 1].is_ascii_digit()) {
            continue;
        }
        let Some((from, end)) = time(start) else {
            continue;
        };
        let rest = window[end..].trim_start();
        let Some(rest) = rest.strip_prefix('-') else {
            continue;
        };
        let at = window.len() - rest.trim_start().len();
        if let Some((to, _)) = time(at) {
            let length = if to > from {
                to - from
            } else {
                to + 24 * 60 - from
            };
            return Some(length);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::window_minutes;

    #[test]
    fn windows_are_measured() {
        assert_eq!(window_minutes("Sun 01:00-04:00 UTC"), Some(180));
        assert_eq!(window_minutes("Sat 22:00 - 02:30 UTC"), Some(270));
        assert_eq!(window_minutes("2:00-3:15"), Some(75));
        assert_eq!(window_minutes("whenever"), None);
        assert_eq!(window_minutes("25:00-26:00"), None);
    }
}
