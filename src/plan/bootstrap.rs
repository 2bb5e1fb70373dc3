//! The first deployment as a runbook (`topoc plan PATH --bootstrap`,
//! `runbooks/bootstrap.md`): the operator's files and secrets, the
//! databases and their users, the product's own schema (the `dbscripts` of
//! the pack), the replicas of the other datacenters, then every running
//! datacenter in order (the primary first) and, in each, its clusters in
//! start order, each tested; traffic opens on a datacenter only once all
//! of its clusters are up. The simulator holds the plan to the floor from
//! the moment traffic opens.

use super::{Action, Detail, Draft, Effect, Input};
use crate::model::{DsId, Role};

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
        detail: Detail::None,
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
                detail: Detail::None,
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
                detail: Detail::None,
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
