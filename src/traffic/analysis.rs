//! What traffic says about an upgrade: the windows to propose (best
//! first), the rate a plan is held to in its window, and whether the
//! upgrade's window is far from the quietest one (TR001, TR002).
//!
//! Windows are read at their worst: each slot of the week at the highest
//! rate any week of the data had there. A proposal starts on a whole hour
//! of the topology's `time_zone`, one per weekday (its best start), and
//! lasts the runbook's expected duration plus a margin, rounded up to a
//! quarter hour. Proposals rank by the highest rate inside them, then by
//! the API calls they carry.

use std::collections::BTreeMap;

use serde::Serialize;

use super::time::{
    DAY, HOUR, MINUTE, UtcOffset, WEEK, WeeklyWindow, describe_window, format_rfc3339, window_parts,
};
use super::week::{Reading, Week};
use super::{Traffic, TrafficError, Where};
use crate::deployment::Deployment;
use crate::diagnostics::Diagnostic;
use crate::model::{Role, Topology, Upgrade, UpgradeId, format_number};
use crate::plan::{Action, Plan, Target};

/// A topology with the traffic it serves.
pub struct Context<'a> {
    /// The topology whose upgrades are read against the traffic.
    pub topology: &'a Topology,
    /// The traffic data; every datacenter it names is one of the topology's.
    pub traffic: &'a Traffic,
    total: Week,
    /// By datacenter, when the data names them.
    datacenters: BTreeMap<String, Week>,
}

/// How much longer than the runbook a proposed window is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    /// A share of the runbook's expected duration (0.5 for `50%`).
    Share(f64),
    /// A fixed number of minutes (30 for `30min`, 90 for `1.5h`).
    Minutes(u32),
}

impl Default for Margin {
    /// Half the runbook again: time to roll back the step that fails last.
    fn default() -> Self {
        Margin::Share(0.5)
    }
}

impl Margin {
    /// `50%`, `30min`, `1h`, `90min`.
    pub fn parse(text: &str) -> Result<Margin, String> {
        let text = text.trim();
        let number = |s: &str| {
            s.trim()
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
        };
        let bad = || {
            format!(
                "`{text}` is not a margin: give a share of the runbook (`50%`) or a duration (`30min`, `1h`)"
            )
        };
        if let Some(n) = text.strip_suffix('%').and_then(number) {
            return (n <= 1000.0)
                .then_some(Margin::Share(n / 100.0))
                .ok_or_else(bad);
        }
        let minutes = if let Some(n) = text.strip_suffix("min").and_then(number) {
            n
        } else if let Some(n) = text.strip_suffix('h').and_then(number) {
            n * 60.0
        } else {
            return Err(bad());
        };
        if minutes.fract() != 0.0 || minutes > 24.0 * 60.0 {
            return Err(format!("`{text}`: give whole minutes, at most a day"));
        }
        Ok(Margin::Minutes(minutes as u32))
    }

    /// The margin, in whole minutes, of a runbook of `minutes` minutes: a
    /// share of it is rounded up.
    pub fn of(self, minutes: u32) -> u32 {
        match self {
            Margin::Share(share) => (f64::from(minutes) * share).ceil() as u32,
            Margin::Minutes(m) => m,
        }
    }
}

/// Where an upgrade's window is in the week, and how long a plan is held
/// over it.
#[derive(Debug, Clone)]
struct Placed {
    /// As `topoc` writes it: `Sun 01:00-04:00 UTC`.
    text: String,
    /// One start, or seven for a window of any day.
    starts: Vec<i64>,
    /// The window's length, or the runbook's when that is longer.
    minutes: u32,
    /// The window itself, when the runbook is longer.
    written_minutes: u32,
}

/// A window read for the whole deployment and each datacenter the data
/// names.
#[derive(Debug, Clone)]
struct WindowReading {
    start: i64,
    total: Reading,
    datacenters: BTreeMap<String, Reading>,
}

/// Proposed windows for an upgrade (`topoc window`).
#[derive(Debug, Clone, Serialize)]
pub struct Proposals {
    /// The upgrade's name.
    pub upgrade: String,
    /// The target whose runbook was timed.
    #[serde(rename = "for")]
    pub target: Target,
    /// Whether the target was the longest of the three (none was given).
    #[serde(skip)]
    pub longest: bool,
    /// The runbook's expected duration, in minutes.
    pub runbook_minutes: u32,
    /// The margin added to the runbook (`--margin`), in minutes.
    pub margin_minutes: u32,
    /// The length of every proposed window, in minutes: the runbook and its
    /// margin, rounded up to a quarter hour.
    pub window_minutes: u32,
    /// When the portals are read-only, in minutes from the runbook's start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<ReadOnly>,
    /// The topology's `time_zone`, the UTC offset the proposals are written in.
    pub time_zone: UtcOffset,
    /// The traffic data the windows were read from.
    pub traffic: Summary,
    /// The proposed windows, best first: the best start of each weekday, or
    /// every start on a whole hour of the week (`--every-hour`).
    pub proposals: Vec<Proposal>,
    /// The upgrade's own `window`, read the same way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<Current>,
}

/// When the portals are read-only in a runbook, in minutes from its start.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReadOnly {
    /// The start of the runbook's first `read-only` step.
    pub from_minute: u32,
    /// The end of its last `read-write` step (the runbook's end when there is
    /// none), or `from_minute` plus the upgrade's `read_only_window` when
    /// that is later.
    pub to_minute: u32,
}

/// The traffic data, in brief.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The traffic file, as named on the command line.
    pub file: String,
    /// The first sample's time, as RFC 3339 in UTC.
    pub from: String,
    /// The end of the last sample's interval, as RFC 3339 in UTC.
    pub to: String,
    /// The time between samples, in seconds.
    pub step_seconds: f64,
    /// The most weeks any slot of the week was seen in.
    pub weeks: usize,
    /// The datacenters the data names, sorted by name; empty when it names
    /// none.
    pub datacenters: Vec<String>,
    /// Whether the data separates portal writes for the whole deployment (a
    /// `portal_writes` column, or series labelled `traffic="portal-writes"`).
    pub portal_writes: bool,
    /// The data in words, for the table: `14 days, from Mon 2024-04-29 00:00
    /// UTC, a sample every 5 min`.
    #[serde(skip)]
    pub described: String,
}

/// A proposed window, with the traffic it carries.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    /// Its place among the proposals, from 1 (the quietest).
    pub rank: usize,
    /// As `window = "..."` takes it, in the topology's time zone.
    pub window: String,
    /// The weekday it starts on in the topology's time zone, `Mon` to `Sun`.
    pub weekday: &'static str,
    /// When it starts, `HH:MM` in the topology's time zone.
    pub start: String,
    /// When it ends, `HH:MM` in the topology's time zone (on the next day
    /// when the window runs past midnight).
    pub end: String,
    /// The highest rate inside it, of the whole deployment, in requests per
    /// second to a tenth.
    pub peak_rps: f64,
    /// The API calls it carries, of the whole deployment, to a whole call.
    pub api_calls: u64,
    /// `None` when the data does not separate portal writes.
    pub portal_writes_refused: Option<u64>,
    /// The window seen from each datacenter shown: those the data names, else
    /// every datacenter that serves traffic.
    pub datacenters: Vec<DatacenterReading>,
}

/// A window seen from one datacenter: its local time, and its own figures
/// when the data names datacenters.
#[derive(Debug, Clone, Serialize)]
pub struct DatacenterReading {
    /// The datacenter's name.
    pub datacenter: String,
    /// The datacenter's `time_zone`, the UTC offset of its local time.
    pub time_zone: UtcOffset,
    /// The window in the datacenter's local time: `Sun 00:30-11:00 UTC+05:30`.
    pub window: String,
    /// Its own highest rate in the window, in requests per second to a tenth;
    /// `None` when the data names no datacenters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rps: Option<f64>,
    /// Its own API calls in the window, to a whole call; `None` when the data
    /// names no datacenters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_calls: Option<u64>,
    /// Its own portal writes refused while the portals are read-only; `None`
    /// when the data names no datacenters or does not separate its portal
    /// writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_writes_refused: Option<u64>,
}

/// The upgrade's own window.
#[derive(Debug, Clone, Serialize)]
pub struct Current {
    /// As the topology writes it.
    pub written: String,
    /// As read (`None` when it cannot be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// How long it is read over, in minutes: the window, or the runbook when
    /// that is longer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    /// The highest rate inside it, of the whole deployment, in requests per
    /// second to a tenth (its busiest day, for a window of any day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_rps: Option<f64>,
    /// The API calls it carries, of the whole deployment, to a whole call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_calls: Option<u64>,
    /// The portal writes refused while the portals are read-only in it;
    /// `None` when the data does not separate portal writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub portal_writes_refused: Option<u64>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What a plan was held to instead of `degraded_capacity x peak_load`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldTo {
    /// Always `traffic`: the plan is held to the traffic of a window, not to
    /// the peak floor.
    pub figure: &'static str,
    /// The traffic file, as named on the command line.
    pub traffic: String,
    /// The window the traffic was read in, in the topology's time zone.
    pub window: String,
    /// `window` (the upgrade's) or `proposal` (the best proposed window:
    /// the upgrade has none).
    pub source: &'static str,
    /// How long the plan was held over, from the window's start (the
    /// window, or the runbook when it is longer).
    pub minutes: u32,
    /// The topology's `traffic_safety` as a percentage (150 for 1.5), to a
    /// tenth.
    pub safety_percent: f64,
    /// The highest rate observed in the window, the whole deployment.
    pub observed_rps: f64,
    /// The window seen from each datacenter shown: those the data names, else
    /// every datacenter that serves traffic.
    pub datacenters: Vec<HeldDatacenter>,
    /// What each cluster is held to. A cluster whose datacenter the data does
    /// not name, when it names others, is left out: it keeps its peak floor.
    pub clusters: Vec<HeldCluster>,
}

/// The window a plan is held over, seen from one datacenter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldDatacenter {
    /// The datacenter's name.
    pub datacenter: String,
    /// The datacenter's `time_zone`, the UTC offset of its local time.
    pub time_zone: UtcOffset,
    /// The window in the datacenter's local time: `Sat 20:30-23:30 UTC`.
    pub window: String,
    /// Its own highest rate in the window (the data names datacenters);
    /// `None` when the data has none for it: its clusters keep the peak
    /// floor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_rps: Option<f64>,
}

/// What one cluster is held to in a plan held to traffic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldCluster {
    /// The datacenter the cluster is in.
    pub datacenter: String,
    /// The cluster's name.
    pub cluster: String,
    /// Its share of the observed rate.
    pub observed_rps: f64,
    /// `observed_rps x traffic_safety`, at most the peak floor.
    pub required_rps: f64,
    /// `degraded_capacity x peak_load`, what it is held to without traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peak_floor_rps: Option<f64>,
    /// The traffic asked for more than the peak floor, which holds.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_peak_floor: bool,
    /// The cluster's DNS-safe label, by which a plan finds its figure
    /// ([`HeldTo::required`]).
    #[serde(skip)]
    pub label: String,
}

impl HeldTo {
    /// The rate a cluster (by site name and label) is held to, when the
    /// traffic gives it one.
    pub fn required(&self, site: &str, label: &str) -> Option<f64> {
        self.clusters
            .iter()
            .find(|c| c.datacenter == site && c.label == label)
            .map(|c| c.required_rps)
    }

    /// For the runbook: `the highest rate observed in Sun 01:00-04:00 UTC
    /// (the upgrade's window) in travel.csv, 75.3 rps, x 150%: ...`.
    pub fn describe(&self) -> String {
        let source = match self.source {
            "window" => "the upgrade's window",
            _ => "the best proposed window: the upgrade has none",
        };
        let clusters: Vec<String> = self
            .clusters
            .iter()
            .map(|c| {
                let name = if self.datacenters.len() > 1 {
                    format!("{}/{}", c.datacenter, c.cluster)
                } else {
                    c.cluster.clone()
                };
                if c.at_peak_floor {
                    format!("{name} {} (its peak floor, lower)", rps(c.required_rps))
                } else {
                    format!("{name} {}", rps(c.required_rps))
                }
            })
            .collect();
        let observed: Vec<String> = self
            .datacenters
            .iter()
            .filter_map(|d| Some(format!("{} {}", d.datacenter, rps(d.observed_rps?))))
            .collect();
        let observed = if observed.is_empty() {
            rps(self.observed_rps)
        } else {
            observed.join(", ")
        };
        let longer = if self.minutes > 0 && self.window_length() < self.minutes {
            format!(
                ", over the {} the runbook takes from its start",
                crate::plan::render::duration(self.minutes)
            )
        } else {
            String::new()
        };
        format!(
            "the highest rate observed in {} ({source}{longer}) in {}, {observed}, x {}%: {}",
            self.window,
            self.traffic,
            format_number(self.safety_percent),
            clusters.join(", ")
        )
    }

    fn window_length(&self) -> u32 {
        crate::model::window_minutes(&self.window).unwrap_or(self.minutes)
    }
}

/// A proposed window: the runbook and its margin, rounded up to a quarter
/// hour (a quarter hour at least).
fn window_length(runbook: u32, margin: u32) -> u32 {
    (runbook + margin).div_ceil(15).max(1) * 15
}

fn rps(value: f64) -> String {
    format!("{} rps", format_number(value))
}

fn tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// When the portals are read-only in a runbook: from the start of its
/// first `read-only` step to the end of its last `read-write` step, or
/// for the upgrade's `read_only_window` when that is longer.
pub fn read_only_span(plan: &Plan, upgrade: &Upgrade) -> Option<(u32, u32)> {
    let mut at = 0;
    let mut from = None;
    let mut to = None;
    for step in &plan.steps {
        if step.action == Action::ReadOnly && from.is_none() {
            from = Some(at);
        }
        at += step.minutes;
        if step.action == Action::ReadWrite {
            to = Some(at);
        }
    }
    let from = from?;
    let mut to = to.unwrap_or(at);
    if let Some(window) = &upgrade.read_only_window {
        to = to.max(from + (window.value.millis / MINUTE as u64) as u32);
    }
    Some((from, to))
}

impl<'a> Context<'a> {
    /// The traffic of a topology: every datacenter the data names must be
    /// one of the topology's.
    pub fn new(topology: &'a Topology, traffic: &'a Traffic) -> Result<Context<'a>, TrafficError> {
        let mut datacenters = BTreeMap::new();
        for series in &traffic.series {
            let Some(name) = &series.datacenter else {
                continue;
            };
            if !topology.datacenters.iter().any(|d| d.name == *name) {
                let known: Vec<&str> = topology
                    .datacenters
                    .iter()
                    .map(|d| d.name.as_str())
                    .collect();
                return Err(TrafficError {
                    file: traffic.source.clone(),
                    at: Where::File,
                    message: format!(
                        "the data names datacenter `{name}`, which topology `{}` does not have (its datacenters: {})",
                        topology.name,
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
            datacenters.insert(name.clone(), Week::of(series, traffic.step));
        }
        Ok(Context {
            topology,
            traffic,
            total: Week::of(&traffic.total, traffic.step),
            datacenters,
        })
    }

    fn zone(&self) -> UtcOffset {
        self.topology.time_zone
    }

    /// The datacenters a window is shown for: those the data names, else
    /// every datacenter that serves traffic.
    fn shown_datacenters(&self) -> Vec<(&'a str, UtcOffset)> {
        self.topology
            .datacenters
            .iter()
            .filter(|d| {
                if self.traffic.labelled {
                    self.datacenters.contains_key(&d.name)
                } else {
                    d.role() != Some(Role::DisasterRecovery)
                }
            })
            .map(|d| (d.name.as_str(), d.time_zone))
            .collect()
    }

    fn read(
        &self,
        start: i64,
        minutes: u32,
        read_only: Option<(u32, u32)>,
    ) -> Option<WindowReading> {
        let length = i64::from(minutes) * MINUTE;
        let ro = read_only.map(|(a, b)| (i64::from(a) * MINUTE, i64::from(b) * MINUTE));
        let total = self.total.read(start, length, ro)?;
        let mut datacenters = BTreeMap::new();
        for (name, week) in &self.datacenters {
            datacenters.insert(name.clone(), week.read(start, length, ro)?);
        }
        Some(WindowReading {
            start,
            total,
            datacenters,
        })
    }

    /// Every window of this length starting on a whole hour of the
    /// topology's time zone, by local weekday: `(weekday, reading)`.
    fn candidates(
        &self,
        minutes: u32,
        read_only: Option<(u32, u32)>,
    ) -> Vec<(usize, WindowReading)> {
        let zone = self.zone();
        let mut out = Vec::new();
        for day in 0..7 {
            for hour in 0..24 {
                let start = (day as i64 * DAY + hour * HOUR - zone.millis()).rem_euclid(WEEK);
                if let Some(reading) = self.read(start, minutes, read_only) {
                    out.push((day, reading));
                }
            }
        }
        out
    }

    /// The quietest first: lower peak, then fewer calls; then the earlier
    /// start in the week.
    fn rank(a: &WindowReading, b: &WindowReading) -> std::cmp::Ordering {
        a.total
            .peak_rps
            .total_cmp(&b.total.peak_rps)
            .then(a.total.calls.total_cmp(&b.total.calls))
    }

    /// The best window of each weekday, best first.
    fn best_per_weekday(&self, minutes: u32, read_only: Option<(u32, u32)>) -> Vec<WindowReading> {
        let mut best: BTreeMap<usize, WindowReading> = BTreeMap::new();
        for (day, reading) in self.candidates(minutes, read_only) {
            match best.get(&day) {
                Some(b) if Self::rank(&reading, b) != std::cmp::Ordering::Less => {}
                _ => {
                    best.insert(day, reading);
                }
            }
        }
        let mut out: Vec<(usize, WindowReading)> = best.into_iter().collect();
        out.sort_by(|(da, a), (db, b)| Self::rank(a, b).then(da.cmp(db)));
        out.into_iter().map(|(_, r)| r).collect()
    }

    /// Every start on a whole hour of the week, best first.
    fn every_start(&self, minutes: u32, read_only: Option<(u32, u32)>) -> Vec<WindowReading> {
        let mut all: Vec<(usize, WindowReading)> = self.candidates(minutes, read_only);
        all.sort_by(|(_, a), (_, b)| Self::rank(a, b).then(a.start.cmp(&b.start)));
        all.into_iter().map(|(_, r)| r).collect()
    }

    fn summary(&self) -> Summary {
        Summary {
            file: self.traffic.source.clone(),
            from: format_rfc3339(self.traffic.from()),
            to: format_rfc3339(self.traffic.to()),
            step_seconds: self.traffic.step as f64 / 1000.0,
            weeks: self.total.weeks,
            datacenters: self.datacenters.keys().cloned().collect(),
            portal_writes: self.traffic.has_writes(),
            described: self.traffic.describe(),
        }
    }

    fn proposal(
        &self,
        rank: usize,
        minutes: u32,
        r: &WindowReading,
        writes_known: bool,
    ) -> Proposal {
        let length = i64::from(minutes);
        let (weekday, start, end) = window_parts(r.start, length, self.zone());
        let datacenters = self
            .shown_datacenters()
            .into_iter()
            .map(|(name, zone)| {
                let own = r.datacenters.get(name);
                DatacenterReading {
                    datacenter: name.to_string(),
                    time_zone: zone,
                    window: describe_window(r.start, length, zone),
                    peak_rps: own.map(|o| tenth(o.peak_rps)),
                    api_calls: own.map(|o| o.calls.round() as u64),
                    portal_writes_refused: own.and_then(|o| o.writes).map(|w| w.round() as u64),
                }
            })
            .collect();
        Proposal {
            rank,
            window: describe_window(r.start, length, self.zone()),
            weekday,
            start,
            end,
            peak_rps: tenth(r.total.peak_rps),
            api_calls: r.total.calls.round() as u64,
            portal_writes_refused: r
                .total
                .writes
                .filter(|_| writes_known)
                .map(|w| w.round() as u64),
            datacenters,
        }
    }

    /// Where the upgrade's window is in the week (`Ok(None)`: it has none).
    fn place(&self, upgrade: &Upgrade, runbook_minutes: u32) -> Result<Option<Placed>, String> {
        let Some(text) = &upgrade.window else {
            return Ok(None);
        };
        let window = WeeklyWindow::parse(text)?;
        let zone = window.zone.unwrap_or(self.zone());
        let starts = window.starts(self.zone());
        let described = describe_window(starts[0], i64::from(window.minutes), zone);
        let text = if window.day.is_none() {
            format!(
                "{} (any day)",
                described
                    .split_once(' ')
                    .map_or(described.as_str(), |(_, rest)| rest)
            )
        } else {
            described
        };
        Ok(Some(Placed {
            text,
            starts,
            minutes: window.minutes.max(runbook_minutes),
            written_minutes: window.minutes,
        }))
    }

    /// A placed window at its worst day.
    fn read_placed(
        &self,
        placed: &Placed,
        read_only: Option<(u32, u32)>,
    ) -> Result<WindowReading, String> {
        let mut worst: Option<WindowReading> = None;
        for &start in &placed.starts {
            let Some(reading) = self.read(start, placed.minutes, read_only) else {
                return Err(format!(
                    "the traffic data ({}) does not cover {}",
                    self.traffic.describe(),
                    if placed.minutes > placed.written_minutes {
                        format!(
                            "{} and the {} the runbook runs past it",
                            placed.text,
                            crate::plan::render::duration(placed.minutes - placed.written_minutes)
                        )
                    } else {
                        placed.text.clone()
                    }
                ));
            };
            if worst
                .as_ref()
                .is_none_or(|w| Self::rank(&reading, w) == std::cmp::Ordering::Greater)
            {
                worst = Some(reading);
            }
        }
        worst.ok_or_else(|| "the window has no start".to_string())
    }

    /// The runbook an upgrade is timed by: the target's, or the longest.
    fn timed_plan(
        &self,
        d: &Deployment,
        upgrade: UpgradeId,
        target: Option<Target>,
    ) -> (Plan, bool) {
        match target {
            Some(target) => (
                crate::plan::plan_upgrade(self.topology, d, upgrade, target),
                false,
            ),
            None => {
                let mut longest: Option<Plan> = None;
                for target in Target::ALL {
                    let plan = crate::plan::plan_upgrade(self.topology, d, upgrade, target);
                    if longest
                        .as_ref()
                        .is_none_or(|l| plan.summary.minutes > l.summary.minutes)
                    {
                        longest = Some(plan);
                    }
                }
                (longest.expect("three targets"), true)
            }
        }
    }

    /// The windows to propose for an upgrade.
    pub fn proposals(
        &self,
        d: &Deployment,
        upgrade: UpgradeId,
        target: Option<Target>,
        margin: Margin,
        every_hour: bool,
    ) -> Result<Proposals, String> {
        let u = &self.topology.upgrades[upgrade.0];
        let (plan, longest) = self.timed_plan(d, upgrade, target);
        let runbook = plan.summary.minutes;
        let margin_minutes = margin.of(runbook);
        let minutes = window_length(runbook, margin_minutes);
        if minutes > 24 * 60 {
            return Err(format!(
                "upgrade `{}` takes about {} with its margin of {}: no window of a day fits it; split the upgrade",
                u.name,
                crate::plan::render::duration(runbook),
                crate::plan::render::duration(margin_minutes)
            ));
        }
        let read_only = read_only_span(&plan, u);
        let writes_known = self.traffic.has_writes();
        let ranked = if every_hour {
            self.every_start(minutes, read_only)
        } else {
            self.best_per_weekday(minutes, read_only)
        };
        let proposals = ranked
            .iter()
            .enumerate()
            .map(|(i, r)| self.proposal(i + 1, minutes, r, writes_known))
            .collect();
        let current = u.window.as_ref().map(|written| {
            let mut current = Current {
                written: written.clone(),
                window: None,
                minutes: None,
                peak_rps: None,
                api_calls: None,
                portal_writes_refused: None,
                problem: None,
            };
            match self.place(u, runbook).and_then(|p| {
                let p = p.expect("the upgrade has a window");
                let r = self.read_placed(&p, read_only)?;
                Ok((p, r))
            }) {
                Ok((placed, reading)) => {
                    current.window = Some(placed.text);
                    current.minutes = Some(placed.minutes);
                    current.peak_rps = Some(tenth(reading.total.peak_rps));
                    current.api_calls = Some(reading.total.calls.round() as u64);
                    current.portal_writes_refused = reading
                        .total
                        .writes
                        .filter(|_| writes_known)
                        .map(|w| w.round() as u64);
                }
                Err(problem) => current.problem = Some(problem),
            }
            current
        });
        Ok(Proposals {
            upgrade: u.name.clone(),
            target: plan.target,
            longest,
            runbook_minutes: runbook,
            margin_minutes,
            window_minutes: minutes,
            read_only: read_only.map(|(from_minute, to_minute)| ReadOnly {
                from_minute,
                to_minute,
            }),
            time_zone: self.zone(),
            traffic: self.summary(),
            proposals,
            current,
        })
    }

    /// What a plan of `upgrade` (timed by `plan`) is held to: the highest
    /// rate in its window (or, without one, in the best proposed window)
    /// times `traffic_safety`, for each cluster, at most its peak floor.
    pub fn held(&self, d: &Deployment, upgrade: UpgradeId, plan: &Plan) -> Result<HeldTo, String> {
        let u = &self.topology.upgrades[upgrade.0];
        let read_only = read_only_span(plan, u);
        let runbook = plan.summary.minutes;
        let (placed, source) = match self.place(u, runbook) {
            Ok(Some(placed)) => (placed, "window"),
            Ok(None) => {
                let minutes = window_length(runbook, Margin::default().of(runbook));
                let best = self
                    .best_per_weekday(minutes.min(24 * 60), read_only)
                    .into_iter()
                    .next()
                    .ok_or_else(|| {
                        format!(
                            "upgrade `{}` has no window, and the traffic data ({}) has none of {} to propose",
                            u.name,
                            self.traffic.describe(),
                            crate::plan::render::duration(minutes)
                        )
                    })?;
                let length = i64::from(minutes);
                (
                    Placed {
                        text: describe_window(best.start, length, self.zone()),
                        starts: vec![best.start],
                        minutes,
                        written_minutes: minutes,
                    },
                    "proposal",
                )
            }
            Err(problem) => {
                return Err(format!(
                    "the window of upgrade `{}`, \"{}\", cannot be placed in the week: {problem}",
                    u.name,
                    u.window.as_deref().unwrap_or_default()
                ));
            }
        };
        let reading = self.read_placed(&placed, read_only)?;
        let t = self.topology;
        let safety = t.traffic_safety.value;
        let mut clusters = Vec::new();
        for site in &d.sites {
            let own = reading.datacenters.get(&site.name);
            for cluster in &site.clusters {
                let observed = match own {
                    Some(own) => own.peak_rps,
                    None if self.traffic.labelled => continue,
                    None => {
                        let share = match (cluster.peak_rps, t.peak_load.as_ref()) {
                            (Some(own), Some(all)) if all.value > 0.0 => own / all.value,
                            _ => 1.0,
                        };
                        reading.total.peak_rps * share
                    }
                };
                let wanted = (observed * safety).ceil();
                let (required, at_peak_floor) = match cluster.required_rps {
                    Some(floor) if floor < wanted => (floor, true),
                    _ => (wanted, false),
                };
                clusters.push(HeldCluster {
                    datacenter: site.name.clone(),
                    cluster: cluster.name.clone(),
                    observed_rps: tenth(observed),
                    required_rps: required,
                    peak_floor_rps: cluster.required_rps,
                    at_peak_floor,
                    label: cluster.label.clone(),
                });
            }
        }
        let length = i64::from(placed.written_minutes);
        let datacenters = self
            .shown_datacenters()
            .into_iter()
            .map(|(name, zone)| HeldDatacenter {
                datacenter: name.to_string(),
                time_zone: zone,
                window: describe_window(reading.start, length, zone),
                observed_rps: reading.datacenters.get(name).map(|r| tenth(r.peak_rps)),
            })
            .collect();
        Ok(HeldTo {
            figure: "traffic",
            traffic: self.traffic.source.clone(),
            window: placed.text,
            source,
            minutes: placed.minutes,
            safety_percent: tenth(safety * 100.0),
            observed_rps: tenth(reading.total.peak_rps),
            datacenters,
            clusters,
        })
    }

    /// TR001 and TR002 for every upgrade with a window.
    pub fn lint(&self, d: &Deployment, out: &mut Vec<Diagnostic>) {
        use crate::lints::traffic::{TR001, TR002};
        let busiest = self.total.peak();
        for (i, u) in self.topology.upgrades.iter().enumerate() {
            let (Some(written), Some(_)) = (&u.window, u.kind()) else {
                continue;
            };
            let span = u.window_span.unwrap_or(u.span);
            let (plan, _) = self.timed_plan(d, UpgradeId(i), None);
            let read_only = read_only_span(&plan, u);
            let placed = match self.place(u, plan.summary.minutes) {
                Ok(Some(placed)) => placed,
                Ok(None) => continue,
                Err(problem) => {
                    out.push(
                        Diagnostic::new(
                            &TR002,
                            span,
                            format!(
                                "the window of upgrade `{}`, \"{written}\", cannot be placed in the week of the traffic data: {problem}",
                                u.name
                            ),
                        )
                        .label("not a weekly window")
                        .help(format!("write {}", super::time::WINDOW_FORM)),
                    );
                    continue;
                }
            };
            let reading = match self.read_placed(&placed, read_only) {
                Ok(reading) => reading,
                Err(problem) => {
                    out.push(
                        Diagnostic::new(
                            &TR002,
                            span,
                            format!("the window of upgrade `{}` cannot be checked: {problem}", u.name),
                        )
                        .label("no traffic data for this window")
                        .help("give traffic data of a week or more (two weeks or more show whether the week is typical)"),
                    );
                    continue;
                }
            };
            let Some(quietest) = self
                .best_per_weekday(placed.minutes, read_only)
                .into_iter()
                .next()
            else {
                continue;
            };
            let (here, there) = (reading.total.peak_rps, quietest.total.peak_rps);
            if here > there * FAR && here - there > NOTICEABLE * busiest {
                let best = describe_window(
                    quietest.start,
                    i64::from(placed.written_minutes),
                    self.zone(),
                );
                out.push(
                    Diagnostic::new(
                        &TR001,
                        span,
                        format!(
                            "upgrade `{}` runs in {}, which sees up to {}; {}, the quietest window of {}, sees up to {}",
                            u.name,
                            placed.text,
                            rps(tenth(here)),
                            best,
                            crate::plan::render::duration(placed.minutes),
                            rps(tenth(there))
                        ),
                    )
                    .label(format!("up to {}", rps(tenth(here))))
                    .help(format!(
                        "move it to `window = \"{best}\"`, or see `topoc window --upgrade {} --traffic {}` for the best window of each weekday",
                        u.name, self.traffic.source
                    )),
                );
            }
        }
    }
}

/// TR001: a window whose highest rate is more than this many times the
/// quietest window's...
pub const FAR: f64 = 1.5;
/// ...and above it by more than this share of the busiest rate of the
/// week (so that 2 rps against 1 rps at night is not far).
pub const NOTICEABLE: f64 = 0.05;

impl Proposals {
    /// The proposals as a table, with what they were made from.
    pub fn table(&self) -> String {
        use crate::plan::render::duration;
        let mut out = String::new();
        out.push_str(&format!(
            "Windows for upgrade `{}`: its runbook takes about {} ({}{}), with a margin of {}: {}\n",
            self.upgrade,
            duration(self.runbook_minutes),
            self.target.name(),
            if self.longest { ", the longest" } else { "" },
            duration(self.margin_minutes),
            duration(self.window_minutes)
        ));
        out.push_str(&format!(
            "Traffic: {}, {}; each slot of the week at its worst of {} week{}\n",
            self.traffic.file,
            self.traffic.described,
            self.traffic.weeks,
            if self.traffic.weeks == 1 { "" } else { "s" }
        ));
        let writes_column = self.read_only.is_some() && self.traffic.portal_writes;
        let per_datacenter = self.proposals.first().is_some_and(|p| {
            !self.traffic.datacenters.is_empty()
                || p.datacenters.iter().any(|d| d.time_zone != self.time_zone)
        });
        let mut rows: Vec<Vec<String>> = vec![{
            let mut head = vec![
                "#".to_string(),
                format!("window ({})", self.time_zone),
                "highest rate".to_string(),
                "API calls".to_string(),
            ];
            if writes_column {
                head.push("portal writes refused".to_string());
            }
            head
        }];
        let writes = |w: Option<u64>| w.map(thousands).unwrap_or_else(|| "?".to_string());
        for p in &self.proposals {
            let mut row = vec![
                p.rank.to_string(),
                p.window.clone(),
                rps(p.peak_rps),
                thousands(p.api_calls),
            ];
            if writes_column {
                row.push(writes(p.portal_writes_refused));
            }
            rows.push(row);
            if per_datacenter {
                for d in &p.datacenters {
                    let mut row = vec![
                        String::new(),
                        format!("  {}: {}", d.datacenter, d.window),
                        d.peak_rps.map(rps).unwrap_or_default(),
                        d.api_calls.map(thousands).unwrap_or_default(),
                    ];
                    if writes_column {
                        row.push(d.portal_writes_refused.map(thousands).unwrap_or_default());
                    }
                    rows.push(row);
                }
            }
        }
        if self.proposals.is_empty() {
            out.push_str(&format!(
                "\nNo window of {} fits in the data: it needs a whole window of samples.\n",
                duration(self.window_minutes)
            ));
        } else {
            out.push('\n');
            out.push_str(&table(&rows));
        }
        out.push('\n');
        match (&self.read_only, self.traffic.portal_writes) {
            (None, _) => out.push_str("The portals stay writable throughout this runbook: it refuses no portal writes.\n"),
            (Some(ro), true) => out.push_str(&format!(
                "The portals are read-only from minute {} to minute {} of the runbook; the writes refused are those the data shows then.\n",
                ro.from_minute, ro.to_minute
            )),
            (Some(ro), false) => out.push_str(&format!(
                "The portals are read-only from minute {} to minute {} of the runbook; the data does not separate portal writes (a `portal_writes` column, or series labelled traffic=\"portal-writes\"), so what they refuse is unknown.\n",
                ro.from_minute, ro.to_minute
            )),
        }
        if let Some(current) = &self.current {
            match (&current.window, current.problem.as_deref()) {
                (Some(window), _) => {
                    let rank = self
                        .proposals
                        .iter()
                        .position(|p| p.peak_rps >= current.peak_rps.unwrap_or_default())
                        .map(|i| i + 1);
                    out.push_str(&format!(
                        "The upgrade's window, {window}, over {}: up to {}, {} API calls{}{}.\n",
                        duration(current.minutes.unwrap_or_default()),
                        rps(current.peak_rps.unwrap_or_default()),
                        thousands(current.api_calls.unwrap_or_default()),
                        match current.portal_writes_refused {
                            Some(w) if writes_column =>
                                format!(", {} portal writes refused", thousands(w)),
                            _ => String::new(),
                        },
                        match rank {
                            Some(1) => ", as quiet as the best".to_string(),
                            Some(n) => format!(", as busy as proposal {n}"),
                            None => ", busier than every proposal".to_string(),
                        }
                    ));
                }
                (None, problem) => out.push_str(&format!(
                    "The upgrade's window, \"{}\", cannot be read against the data: {}.\n",
                    current.written,
                    problem.unwrap_or("unknown")
                )),
            }
        }
        out
    }
}

/// Left-aligned columns, two spaces apart; figures aligned right.
fn table(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            if c >= 2 {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_quarter_hours() {
        assert_eq!(window_length(83, 42), 135);
        assert_eq!(window_length(90, 0), 90);
        assert_eq!(window_length(91, 0), 105);
        assert_eq!(window_length(0, 0), 15);
    }

    #[test]
    fn margins() {
        assert_eq!(Margin::parse("50%"), Ok(Margin::Share(0.5)));
        assert_eq!(Margin::parse("30min"), Ok(Margin::Minutes(30)));
        assert_eq!(Margin::parse("1.5h"), Ok(Margin::Minutes(90)));
        assert!(Margin::parse("soon").is_err());
        assert!(Margin::parse("-5%").is_err());
        assert!(Margin::parse("0.5min").is_err());
        assert_eq!(Margin::Share(0.5).of(117), 59);
        assert_eq!(Margin::Minutes(20).of(117), 20);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn tables_align() {
        let rows = vec![
            vec!["#".into(), "window".into(), "rate".into()],
            vec!["1".into(), "Sun".into(), "5 rps".into()],
        ];
        assert_eq!(table(&rows), "#  window   rate\n1  Sun     5 rps\n");
    }
}
