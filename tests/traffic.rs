//! Traffic, as operators export it: generated weeks (a daily and a weekly
//! pattern, noise, two datacenters in their own time zones, portal writes)
//! read as a CSV and as the JSON of a Prometheus range query; the windows
//! `topoc window` proposes, checked against the data itself; plans held to
//! the traffic of their window; `check --traffic`; and each kind of bad
//! data, which is an error naming its line or series.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn topoc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_topoc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("topoc runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const WEEK: i64 = 7 * DAY;
/// Monday 2024-04-29 00:00 UTC, in Unix seconds.
const MONDAY: i64 = 1_714_348_800;

/// A small deterministic generator (64-bit LCG), so that the noise is the
/// same on every run.
struct Noise(u64);

impl Noise {
    /// Uniform in [-1, 1).
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// One datacenter's traffic: quietest at 03:00 local time, busiest at
/// 15:00, weekends at half the weekday rate, +-8% noise.
struct Site {
    name: &'static str,
    /// Hours east of UTC.
    offset_hours: f64,
    peak: f64,
}

/// A sample: the datacenter, Unix seconds, API rps, portal writes per second.
type Sample = (&'static str, i64, f64, f64);

fn generate(sites: &[Site], days: i64, step: i64, seed: u64) -> Vec<Sample> {
    let mut noise = Noise(seed);
    let mut out = Vec::new();
    for site in sites {
        for i in 0..days * DAY / step {
            let t = MONDAY + i * step;
            let local = t as f64 + site.offset_hours * HOUR as f64;
            let hour = local.rem_euclid(DAY as f64) / HOUR as f64;
            let weekday = (local.div_euclid(DAY as f64) as i64 - MONDAY / DAY).rem_euclid(7);
            let daily = (0.5 - 0.5 * ((hour - 3.0) / 24.0 * std::f64::consts::TAU).cos()).powf(1.5);
            let weekly = if weekday >= 5 { 0.5 } else { 1.0 };
            let rps = site.peak * (0.04 + 0.96 * daily * weekly) * (1.0 + 0.08 * noise.next());
            let writes = rps * 0.01 * (1.0 + 0.2 * noise.next());
            out.push((
                site.name,
                t,
                (rps * 10.0).round() / 10.0,
                (writes * 100.0).round() / 100.0,
            ));
        }
    }
    out
}

/// `datacenter,timestamp,rps[,portal_writes]`, RFC 3339 times.
fn csv(samples: &[Sample], datacenters: bool, writes: bool) -> String {
    let mut out = String::from("# generated\n");
    out.push_str(if datacenters {
        "datacenter,timestamp,rps"
    } else {
        "timestamp,rps"
    });
    out.push_str(if writes { ",portal_writes\n" } else { "\n" });
    for (dc, t, rps, w) in samples {
        if datacenters {
            out.push_str(&format!("{dc},"));
        }
        out.push_str(&format!("{},{rps}", rfc3339(*t)));
        if writes {
            out.push_str(&format!(",{w}"));
        }
        out.push('\n');
    }
    out
}

/// The same samples as Prometheus answers `sum by (datacenter, pod)`:
/// each datacenter's API rate split over two gateway pods (60% and 40%),
/// and its portal writes as a series of their own.
fn prometheus(samples: &[Sample]) -> String {
    let mut result = Vec::new();
    let mut names: Vec<&str> = samples.iter().map(|s| s.0).collect();
    names.dedup();
    for name in names {
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.0 == name).collect();
        for (pod, share) in [("gw-1", 0.6), ("gw-2", 0.4)] {
            let values: Vec<Value> = mine
                .iter()
                .map(|(_, t, rps, _)| serde_json::json!([*t, format!("{}", rps * share)]))
                .collect();
            result.push(serde_json::json!({
                "metric": {"datacenter": name, "pod": pod},
                "values": values,
            }));
        }
        let values: Vec<Value> = mine
            .iter()
            .map(|(_, t, _, w)| serde_json::json!([*t, format!("{w}")]))
            .collect();
        result.push(serde_json::json!({
            "metric": {"datacenter": name, "traffic": "portal-writes"},
            "values": values,
        }));
    }
    serde_json::json!({
        "status": "success",
        "data": {"resultType": "matrix", "result": result},
    })
    .to_string()
}

fn rfc3339(t: i64) -> String {
    let days = t.div_euclid(DAY);
    let rest = t.rem_euclid(DAY);
    // 2024-04-29 is day 19842; the generated data stays within 2024-05.
    let (mut y, mut m, mut d) = (2024, 4, 29 + (days - 19_842));
    for (month, length) in [(4, 30), (5, 31), (6, 30)] {
        if m == month && d > length {
            d -= length;
            m += 1;
        }
    }
    if m > 12 {
        y += 1;
        m -= 12;
    }
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE
    )
}

const COMMON: &str = r#"
datacenter colombo {
  role = primary
  time_zone = "UTC+05:30"
  datasource apim_db {
    purpose = apim  engine = mysql  host = "db.colombo"  database = "apim_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  datasource shared_db {
    purpose = shared  engine = mysql  host = "db.colombo"  database = "shared_db"
    driver = "mysql-connector-j-8.4.0.jar"
  }
  cluster control_plane {
    profile = control-plane  nodes = 2  ha = active-active
    node_capacity = 1000rps  datasources = [apim_db, shared_db]
  }
  cluster gateway {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = GATEWAY  key_manager = control_plane
    datasources = [shared_db]
  }
}
"#;

/// One datacenter with two gateways of 800 rps, which can lose one at
/// peak (750 rps), and two upgrades.
fn topology(window: &str) -> String {
    topology_with(window, "800rps", "")
}

/// The same, with gateways of `capacity` and more in the topology block.
fn topology_with(window: &str, capacity: &str, more: &str) -> String {
    let common = COMMON.replace("GATEWAY", capacity);
    format!(
        r#"topology acme {{
  version = "4.2.0"
  update_level = 12
  peak_load = 1000rps
  keystore = "apim.p12"
  traffic_safety = 150%
  {more}
}}
{common}
upgrade monthly_patch {{
  kind = patch
  clusters = [gateway]
  surge = false
  {window}
}}

upgrade to_4_3 {{
  kind = migration
  to_version = "4.3.0"
  read_only_window = 2h
  token_sync = one-way
  cutover = dns
}}
"#
    )
}

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        Dir {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("written");
        path
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

const COLOMBO: Site = Site {
    name: "colombo",
    offset_hours: 5.5,
    peak: 900.0,
};

/// The highest rate of the generated data over a window of the week
/// (`start` seconds after Monday 00:00 UTC, `minutes` long), every week
/// of the data folded onto one, as `topoc` reads it.
fn peak_in(samples: &[Sample], step: i64, start: i64, minutes: i64) -> f64 {
    samples
        .iter()
        .filter(|(_, t, _, _)| {
            let at = (t - MONDAY).rem_euclid(WEEK);
            // The sample's interval [at, at + step) overlaps the window,
            // which may run past the end of the week.
            (-1..=1).any(|k| {
                let at = at + k * WEEK;
                at + step > start && at < start + minutes * MINUTE
            })
        })
        .map(|s| s.2)
        .fold(0.0, f64::max)
}

fn weekday_index(name: &str) -> i64 {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .position(|d| *d == name)
        .expect("weekday") as i64
}

fn clock_seconds(text: &str) -> i64 {
    let (h, m) = text.split_once(':').expect("HH:MM");
    h.parse::<i64>().unwrap() * HOUR + m.parse::<i64>().unwrap() * MINUTE
}

#[test]
fn two_weeks_of_traffic_give_the_quiet_hours_of_the_weekend() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 14, 5 * MINUTE, 7);
    let traffic = dir.write("traffic.csv", &csv(&samples, true, true));
    let topo = dir.write("acme.topo", &topology(""));
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "monthly_patch",
        "--traffic",
        s(&traffic),
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "two weeks: no warning");
    let value = json(&out);
    let runbook = value["runbook_minutes"].as_u64().unwrap();
    let margin = value["margin_minutes"].as_u64().unwrap();
    let minutes = value["window_minutes"].as_u64().unwrap();
    assert_eq!(
        margin,
        (runbook as f64 * 0.5).ceil() as u64,
        "the default margin is 50%"
    );
    assert_eq!(minutes, (runbook + margin).div_ceil(15) * 15);
    assert_eq!(value["time_zone"], "UTC");
    assert_eq!(value["traffic"]["weeks"], 2);
    let proposals = value["proposals"].as_array().unwrap();
    // One per weekday, best first.
    assert_eq!(proposals.len(), 7);
    let mut days: Vec<&str> = proposals
        .iter()
        .map(|p| p["weekday"].as_str().unwrap())
        .collect();
    days.sort();
    days.dedup();
    assert_eq!(days.len(), 7);
    let peaks: Vec<f64> = proposals
        .iter()
        .map(|p| p["peak_rps"].as_f64().unwrap())
        .collect();
    assert!(peaks.windows(2).all(|w| w[0] <= w[1]), "{peaks:?}");
    // Colombo is quietest at 03:00 local, 21:30 UTC the day before, and at
    // weekends: the best window is on the weekend, around 21:30 UTC.
    let best = &proposals[0];
    let weekday = best["weekday"].as_str().unwrap();
    assert!(["Fri", "Sat", "Sun"].contains(&weekday), "{best}");
    let start = clock_seconds(best["start"].as_str().unwrap());
    let middle = start + minutes as i64 * MINUTE / 2;
    assert!(
        (middle - (21 * HOUR + 30 * MINUTE)).abs() <= 2 * HOUR,
        "the best window is centred near 21:30 UTC: {best}"
    );
    // Its figures are those of the data.
    let week_start = weekday_index(weekday) * DAY + start;
    let expected = peak_in(&samples, 5 * MINUTE, week_start, minutes as i64);
    assert!(
        (best["peak_rps"].as_f64().unwrap() - expected).abs() < 0.06,
        "peak {} where the data says {expected}",
        best["peak_rps"]
    );
    // Every start on a whole hour of the week: 168, the same best first.
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "monthly_patch",
        "--traffic",
        s(&traffic),
        "--format",
        "json",
        "--every-hour",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let every = json(&out);
    let all = every["proposals"].as_array().unwrap();
    assert_eq!(all.len(), 7 * 24);
    assert_eq!(all[0]["window"], best["window"]);
    let peaks: Vec<f64> = all
        .iter()
        .map(|p| p["peak_rps"].as_f64().unwrap())
        .collect();
    assert!(peaks.windows(2).all(|w| w[0] <= w[1]));
    // The busiest start is a weekday afternoon.
    let worst = &all[all.len() - 1];
    assert!(
        !["Sat", "Sun"].contains(&worst["weekday"].as_str().unwrap()),
        "{worst}"
    );
    let busiest = samples.iter().map(|s| s.2).fold(0.0, f64::max);
    assert!(
        expected < busiest / 4.0,
        "a quiet window: {expected} of {busiest}"
    );
    // The datacenter's own reading, in its own time zone.
    let colombo = &best["datacenters"][0];
    assert_eq!(colombo["datacenter"], "colombo");
    assert_eq!(colombo["time_zone"], "UTC+05:30");
    let local = colombo["window"].as_str().unwrap();
    assert!(local.ends_with("UTC+05:30"), "{local}");
    assert_eq!(colombo["peak_rps"], best["peak_rps"]);
    // A patch keeps the portals writable: nothing is refused.
    assert_eq!(best["portal_writes_refused"], 0);
    // The API calls it carries: the rates over its time, each week at its
    // worst, so between the calls of the quieter and the busier week.
    let calls = best["api_calls"].as_f64().unwrap();
    let per_week: Vec<f64> = (0..2)
        .map(|week| {
            samples
                .iter()
                .filter(|(_, t, _, _)| {
                    let at = t - MONDAY - week * WEEK;
                    at >= week_start && at < week_start + minutes as i64 * MINUTE
                })
                .map(|s| s.2 * 300.0)
                .sum()
        })
        .collect();
    let (low, high) = (per_week[0].min(per_week[1]), per_week[0].max(per_week[1]));
    assert!(
        calls >= low * 0.999 && calls <= high * 1.08 + 1.0,
        "{calls} not in {low}..{high}"
    );
}

#[test]
fn a_prometheus_range_query_reads_as_the_csv() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 8, 15 * MINUTE, 11);
    let csv_path = dir.write("traffic.csv", &csv(&samples, true, true));
    let json_path = dir.write("query_range.json", &prometheus(&samples));
    let topo = dir.write("acme.topo", &topology(""));
    let run = |traffic: &Path| {
        let out = topoc(&[
            "window",
            s(&topo),
            "--upgrade",
            "to_4_3",
            "--traffic",
            s(traffic),
            "--format",
            "json",
        ]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        json(&out)
    };
    let from_csv = run(&csv_path);
    let from_json = run(&json_path);
    assert_eq!(from_csv["proposals"].as_array().unwrap().len(), 7);
    // The two pods are summed: the same windows, the same figures (to the
    // rounding of the split).
    for (a, b) in from_csv["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .zip(from_json["proposals"].as_array().unwrap())
    {
        assert_eq!(a["window"], b["window"]);
        assert!((a["peak_rps"].as_f64().unwrap() - b["peak_rps"].as_f64().unwrap()).abs() < 0.2);
        let (ca, cb) = (
            a["api_calls"].as_f64().unwrap(),
            b["api_calls"].as_f64().unwrap(),
        );
        assert!((ca - cb).abs() <= ca * 1e-6 + 1.0, "{ca} {cb}");
        assert_eq!(a["portal_writes_refused"], b["portal_writes_refused"]);
    }
    // A migration keeps the portals read-only: the writes in that part of
    // the window are refused, and said.
    let best = &from_csv["proposals"][0];
    assert!(
        best["portal_writes_refused"].as_u64().unwrap() > 0,
        "{best}"
    );
    let ro = &from_csv["read_only"];
    assert!(ro["to_minute"].as_u64().unwrap() - ro["from_minute"].as_u64().unwrap() >= 120);
    // Without a portal_writes column, nothing is said about them.
    let bare = dir.write("bare.csv", &csv(&samples, true, false));
    let from_bare = run(&bare);
    assert!(
        from_bare["proposals"][0]["portal_writes_refused"].is_null(),
        "unknown, not 0"
    );
    // The table says it too.
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "to_4_3",
        "--traffic",
        s(&csv_path),
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("portal writes refused"), "{table}");
}

#[test]
fn each_datacenter_is_read_in_its_own_time_zone() {
    let dir = Dir::new();
    let london = Site {
        name: "london",
        offset_hours: 0.0,
        peak: 500.0,
    };
    let samples = generate(&[COLOMBO, london], 7, 10 * MINUTE, 5);
    let traffic = dir.write("traffic.csv", &csv(&samples, true, false));
    let text = topology("").replace(
        "upgrade monthly_patch",
        r#"datacenter london {
  role = read-only
  replicates = colombo
  artifact_source = artifacts
  datasource apim_db_london { replica_of = apim_db  host = "db.london" }
  datasource shared_db_london { replica_of = shared_db  host = "db.london" }
  cluster gateway_london {
    profile = gateway-worker  nodes = 2  ha = active-active
    node_capacity = 600rps  peak_load = 500rps
    key_manager = km_london  traffic_manager = tm_london
    datasources = [shared_db_london]
  }
  cluster km_london {
    profile = key-manager  nodes = 2  ha = active-active
    node_capacity = 600rps  peak_load = 500rps
    datasources = [apim_db_london, shared_db_london]
  }
  cluster tm_london {
    profile = traffic-manager  nodes = 2  ha = active-active
    node_capacity = 600rps  peak_load = 500rps
    datasources = [apim_db_london, shared_db_london]
  }
}

artifact_server artifacts { url = "https://artifacts.example.com/apim" }

upgrade monthly_patch"#,
    );
    let topo = dir.write("acme.topo", &text);
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "monthly_patch",
        "--traffic",
        s(&traffic),
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let value = json(&out);
    let best = &value["proposals"][0];
    let dcs = best["datacenters"].as_array().unwrap();
    assert_eq!(dcs.len(), 2, "{best}");
    assert_eq!(dcs[0]["datacenter"], "colombo");
    assert_eq!(dcs[1]["datacenter"], "london");
    assert_eq!(dcs[1]["time_zone"], "UTC");
    // The same window, 05:30 apart on the clock.
    let start = clock_seconds(best["start"].as_str().unwrap());
    let colombo_start = dcs[0]["window"]
        .as_str()
        .unwrap()
        .split([' ', '-'])
        .nth(1)
        .unwrap();
    assert_eq!(
        clock_seconds(colombo_start),
        (start + 5 * HOUR + 30 * MINUTE).rem_euclid(DAY)
    );
    // The whole is the sum of the datacenters: its peak at most theirs
    // added, at least the larger.
    let (a, b) = (
        dcs[0]["peak_rps"].as_f64().unwrap(),
        dcs[1]["peak_rps"].as_f64().unwrap(),
    );
    let total = best["peak_rps"].as_f64().unwrap();
    assert!(
        total <= a + b + 0.1 && total >= a.max(b) - 0.1,
        "{total} {a} {b}"
    );
    let calls: u64 = dcs.iter().map(|d| d["api_calls"].as_u64().unwrap()).sum();
    assert!(calls.abs_diff(best["api_calls"].as_u64().unwrap()) <= 2);
    // Data naming a datacenter the topology lacks is refused.
    let stray = dir.write(
        "stray.csv",
        &csv(&samples, true, false).replace("london,", "paris,"),
    );
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "monthly_patch",
        "--traffic",
        s(&stray),
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("datacenter `paris`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_plan_unsafe_at_peak_is_safe_in_a_quiet_window_and_says_so() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 7, 5 * MINUTE, 3);
    let traffic = dir.write("traffic.csv", &csv(&samples, false, false));
    // Colombo's quiet hours: 03:00 local is 21:30 UTC.
    // Its gateways of 600 rps cannot lose one at peak (HA001, accepted:
    // the operators patch at night only).
    let night = |window: &str| {
        topology_with(
            &format!("window = \"{window}\""),
            "600rps",
            "allow = [\"HA001\"]",
        )
    };
    let quiet = dir.write("quiet.topo", &night("Sun 02:00-05:00 UTC+05:30"));
    let busy = dir.write("busy.topo", &night("Wed 14:00-17:00 UTC+05:30"));
    let plan = |topo: &Path, extra: &[&str]| {
        let mut args = vec![
            "plan",
            s(topo),
            "--upgrade",
            "monthly_patch",
            "--for",
            "compose",
        ];
        args.extend_from_slice(extra);
        topoc(&args)
    };
    // At the peak floor (750 rps), one gateway of 600 rps is not enough.
    let at_peak = plan(&quiet, &["--format", "json"]);
    assert_eq!(code(&at_peak), 1);
    assert_eq!(json(&at_peak)["safe"], false);
    // Held to the traffic of its window, it is safe, with a margin per step.
    let held = plan(&quiet, &["--format", "json", "--traffic", s(&traffic)]);
    assert_eq!(code(&held), 0, "{}", stderr(&held));
    let value = json(&held);
    assert_eq!(value["safe"], true);
    let to = &value["held_to"];
    assert_eq!(to["figure"], "traffic");
    assert_eq!(to["source"], "window");
    assert_eq!(to["safety_percent"], 150.0);
    let observed = to["observed_rps"].as_f64().unwrap();
    let expected = peak_in(
        &samples,
        5 * MINUTE,
        6 * DAY + 2 * HOUR - 5 * HOUR - 30 * MINUTE,
        180,
    );
    assert!((observed - expected).abs() < 0.06, "{observed} {expected}");
    let gateway = to["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "gateway")
        .unwrap();
    assert_eq!(
        gateway["required_rps"].as_f64().unwrap(),
        (observed * 1.5).ceil()
    );
    assert_eq!(gateway["peak_floor_rps"], 750.0);
    assert_eq!(value["at_peak"]["safe"], false);
    for step in value["steps"].as_array().unwrap() {
        if let (Some(c), Some(r)) = (step["capacity_rps"].as_f64(), step["required_rps"].as_f64()) {
            assert_eq!(step["margin_rps"].as_f64().unwrap(), c - r, "{step}");
        }
    }
    assert!(
        stderr(&held).contains("safe in its window"),
        "{}",
        stderr(&held)
    );
    // Only an upgrade's plan is held to traffic.
    let failover = topoc(&["plan", s(&quiet), "--bootstrap", "--traffic", s(&traffic)]);
    assert_eq!(code(&failover), 2);
    assert!(
        stderr(&failover).contains("give --upgrade NAME"),
        "{}",
        stderr(&failover)
    );
    // The Markdown runbook records the figure it was held to.
    let markdown = plan(&quiet, &["--traffic", s(&traffic)]);
    let text = String::from_utf8_lossy(&markdown.stdout);
    assert!(
        text.contains("| Held to | the highest rate observed in Sun 02:00-05:00 UTC+05:30"),
        "{text}"
    );
    assert!(text.contains("| At the peak floor | NOT safe"), "{text}");
    assert!(text.contains("a margin of "), "{text}");
    // In a busy afternoon the traffic is the peak: unsafe, UP001.
    let busy_plan = plan(&busy, &["--format", "json", "--traffic", s(&traffic)]);
    assert_eq!(code(&busy_plan), 1);
    let value = json(&busy_plan);
    assert_eq!(value["safe"], false);
    let gateway = value["held_to"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cluster"] == "gateway")
        .unwrap();
    assert_eq!(gateway["at_peak_floor"], true, "{gateway}");
    assert!(
        stderr(&busy_plan).contains("error[UP001]"),
        "{}",
        stderr(&busy_plan)
    );
    // `check --traffic`: TR001 for the busy window, nothing for the quiet
    // one; without traffic neither is read.
    let busy = dir.write(
        "busy_800.topo",
        &topology(r#"window = "Wed 14:00-17:00 UTC+05:30""#),
    );
    let quiet = dir.write(
        "quiet_800.topo",
        &topology(r#"window = "Sun 02:00-05:00 UTC+05:30""#),
    );
    let check = topoc(&[
        "check",
        s(&busy),
        "--traffic",
        s(&traffic),
        "--format",
        "json",
    ]);
    let report = json(&check);
    let codes: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"TR001"), "{codes:?}");
    let check = topoc(&[
        "check",
        s(&quiet),
        "--traffic",
        s(&traffic),
        "--deny",
        "warnings",
    ]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    let check = topoc(&["check", s(&busy), "--deny", "warnings"]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
}

#[test]
fn output_is_deterministic() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 7, 30 * MINUTE, 9);
    let traffic = dir.write("traffic.json", &prometheus(&samples));
    let topo = dir.write("acme.topo", &topology(r#"window = "Sat 22:00-02:00 UTC""#));
    for args in [
        vec![
            "window",
            s(&topo),
            "--upgrade",
            "to_4_3",
            "--traffic",
            s(&traffic),
        ],
        vec![
            "window",
            s(&topo),
            "--upgrade",
            "monthly_patch",
            "--traffic",
            s(&traffic),
            "--format",
            "json",
        ],
        vec![
            "plan",
            s(&topo),
            "--upgrade",
            "monthly_patch",
            "--traffic",
            s(&traffic),
            "--format",
            "json",
        ],
    ] {
        let a = topoc(&args);
        let b = topoc(&args);
        assert_eq!(code(&a), 0, "{args:?}: {}", stderr(&a));
        assert_eq!(a.stdout, b.stdout, "{args:?}");
    }
}

#[test]
fn fewer_than_seven_days_is_a_warning() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 3, 15 * MINUTE, 2);
    let traffic = dir.write("traffic.csv", &csv(&samples, false, false));
    let topo = dir.write("acme.topo", &topology(""));
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "monthly_patch",
        "--traffic",
        s(&traffic),
        "--format",
        "json",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let warning = stderr(&out);
    assert!(warning.starts_with("warning: "), "{warning}");
    assert!(
        warning.contains("covers 3 days") && warning.contains("fewer than 7 days"),
        "{warning}"
    );
    // Only the three days it covers are proposed.
    assert_eq!(json(&out)["proposals"].as_array().unwrap().len(), 3);
}

/// Bad data: the exit status 2 and the error, which names the line.
fn refused(dir: &Dir, name: &str, text: &str) -> String {
    let topo = dir.write("acme.topo", &topology(""));
    let traffic = dir.write(name, text);
    let out = topoc(&[
        "window",
        s(&topo),
        "--upgrade",
        "monthly_patch",
        "--traffic",
        s(&traffic),
    ]);
    assert_eq!(code(&out), 2, "{name} is refused: {}", stderr(&out));
    assert!(out.stdout.is_empty());
    let error = stderr(&out);
    let file = s(&traffic).to_string();
    error
        .strip_prefix(&format!("error: {file}"))
        .unwrap_or_else(|| panic!("the error names the file: {error}"))
        .trim_end()
        .to_string()
}

#[test]
fn bad_csv_data_is_an_error_at_its_line() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 7, HOUR, 1);
    let good = csv(&samples, false, false);
    let lines: Vec<&str> = good.lines().collect();
    // Line 1 is a comment, line 2 the header, line 3 the first sample.
    let edit = |f: &dyn Fn(&mut Vec<String>)| {
        let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        f(&mut lines);
        lines.join("\n") + "\n"
    };
    let gap = edit(&|l| {
        l.remove(50);
    });
    let error = refused(&dir, "gap.csv", &gap);
    assert!(
        error.starts_with(":51: a gap: no sample from 2024-05-01T"),
        "{error}"
    );
    assert!(
        error.contains("(1 missing; the data has a sample every 1 h)"),
        "{error}"
    );
    let backwards = edit(&|l| l.swap(20, 21));
    let error = refused(&dir, "backwards.csv", &backwards);
    assert!(error.starts_with(":22: "), "{error}");
    assert!(
        error.contains("comes before the sample above it"),
        "{error}"
    );
    let duplicate = edit(&|l| l[30] = l[29].clone());
    let error = refused(&dir, "duplicate.csv", &duplicate);
    assert!(error.starts_with(":31: a second sample at"), "{error}");
    let negative = edit(&|l| l[40] = l[40].replace(',', ",-"));
    let error = refused(&dir, "negative.csv", &negative);
    assert!(
        error.starts_with(":41: the rps value -") && error.ends_with("is negative"),
        "{error}"
    );
    let text = edit(&|l| l[60] = format!("{},n/a", l[60].split(',').next().unwrap()));
    let error = refused(&dir, "text.csv", &text);
    assert_eq!(error, ":61: the rps value `n/a` is not a number");
    let nan = edit(&|l| l[61] = format!("{},NaN", l[61].split(',').next().unwrap()));
    let error = refused(&dir, "nan.csv", &nan);
    assert!(
        error.starts_with(":62: the rps value `NaN` is not a number of requests"),
        "{error}"
    );
    let empty = edit(&|l| l[62] = format!("{},", l[62].split(',').next().unwrap()));
    assert_eq!(refused(&dir, "empty.csv", &empty), ":63: no rps value");
    let bad_time = edit(&|l| l[63] = l[63].replace('T', " at "));
    let error = refused(&dir, "time.csv", &bad_time);
    assert!(error.starts_with(":64: `2024-"), "{error}");
    let local = edit(&|l| l[64] = l[64].replace("Z,", ","));
    let error = refused(&dir, "local.csv", &local);
    assert!(
        error.contains(":65: ") && error.contains("no UTC offset"),
        "{error}"
    );
    let fields = edit(&|l| l[65].push_str(",3"));
    assert_eq!(
        refused(&dir, "fields.csv", &fields),
        ":66: 3 fields, where the header has 2"
    );
    let headless = edit(&|l| {
        l.remove(1);
    });
    let error = refused(&dir, "headless.csv", &headless);
    assert!(error.starts_with(":2: no header"), "{error}");
    let unknown = edit(&|l| l[1] = "timestamp,requests".to_string());
    let error = refused(&dir, "unknown.csv", &unknown);
    assert!(
        error.starts_with(":2: unknown column `requests`"),
        "{error}"
    );
    let off_grid = edit(&|l| l[70] = l[70].replace(":00:00Z", ":20:00Z"));
    let error = refused(&dir, "offgrid.csv", &off_grid);
    assert!(
        error.starts_with(":71: ") && error.contains("after the sample above it"),
        "{error}"
    );
    assert_eq!(
        refused(&dir, "nothing.csv", ""),
        ": no data: it needs a header line, `timestamp,rps`, optionally with `datacenter` and `portal_writes` columns, then one sample a line"
    );
}

#[test]
fn bad_prometheus_data_names_its_series() {
    let dir = Dir::new();
    let samples = generate(&[COLOMBO], 7, HOUR, 4);
    let good: Value = serde_json::from_str(&prometheus(&samples)).unwrap();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut value = good.clone();
        f(&mut value);
        value.to_string()
    };
    let gap = edit(&|v| {
        v["data"]["result"][1]["values"]
            .as_array_mut()
            .unwrap()
            .remove(12);
    });
    let error = refused(&dir, "gap.json", &gap);
    assert!(
        error.starts_with(
            ": data.result[1] {datacenter=\"colombo\", pod=\"gw-2\"}, values[12]: a gap"
        ),
        "{error}"
    );
    let backwards = edit(&|v| {
        v["data"]["result"][0]["values"]
            .as_array_mut()
            .unwrap()
            .swap(5, 6);
    });
    let error = refused(&dir, "backwards.json", &backwards);
    assert!(
        error.starts_with(": data.result[0] {datacenter=\"colombo\", pod=\"gw-1\"}, values[6]: "),
        "{error}"
    );
    assert!(error.contains("comes before"), "{error}");
    let negative = edit(&|v| v["data"]["result"][2]["values"][3][1] = Value::from("-0.5"));
    let error = refused(&dir, "negative.json", &negative);
    assert!(error.contains("data.result[2] {datacenter=\"colombo\", traffic=\"portal-writes\"}, values[3]: the rate value -0.5 is negative"), "{error}");
    let text = edit(&|v| v["data"]["result"][0]["values"][9][1] = Value::from("lots"));
    let error = refused(&dir, "text.json", &text);
    assert!(
        error.ends_with("values[9]: the rate value `lots` is not a number"),
        "{error}"
    );
    let vector = edit(&|v| v["data"]["resultType"] = Value::from("vector"));
    let error = refused(&dir, "vector.json", &vector);
    assert!(
        error.starts_with(": data.resultType: the result of an instant query"),
        "{error}"
    );
    let failed = r#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
    assert_eq!(
        refused(&dir, "failed.json", failed),
        ": the query failed (timeout): query timed out"
    );
    let error = refused(&dir, "broken.json", &good.to_string()[..200]);
    assert!(error.starts_with(":1: not valid JSON"), "{error}");
    let unlabelled = edit(&|v| {
        v["data"]["result"][1]["metric"]
            .as_object_mut()
            .unwrap()
            .remove("datacenter");
    });
    let error = refused(&dir, "unlabelled.json", &unlabelled);
    assert!(
        error.starts_with(": data.result[1]: it has no `datacenter` label"),
        "{error}"
    );
}

/// Replace (under `UPDATE_README`) or check a generated README section.
fn readme_section(name: &str, expected: &str) {
    let readme = std::fs::read_to_string("README.md").expect("README");
    let open = format!("<!-- {name}:start -->\n");
    let start = readme
        .find(&open)
        .unwrap_or_else(|| panic!("README lacks {open}"))
        + open.len();
    let end = readme[start..]
        .find(&format!("<!-- {name}:end -->"))
        .expect("its end")
        + start;
    if readme[start..end] != *expected {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..start], expected, &readme[end..]);
            std::fs::write("README.md", updated).expect("write README.md");
        } else {
            panic!(
                "the README's section {name} is out of date; run `UPDATE_README=1 cargo test --test traffic`"
            );
        }
    }
}

#[test]
fn the_worked_example_of_the_readme_is_what_topoc_says() {
    let example = [
        "examples/multi-datacenter.topo",
        "--upgrade",
        "quarterly_patch",
        "--traffic",
        "examples/multi-datacenter.traffic.csv",
    ];
    let out = topoc(&[&["window"], &example[..]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    readme_section(
        "traffic-example",
        &format!(
            "```console\n$ topoc window {}\n{}```\n",
            example.join(" "),
            String::from_utf8_lossy(&out.stdout)
        ),
    );
    // The prose before it names the best window's peak and length.
    let out = topoc(&[&["window"], &example[..], &["--format", "json"]].concat());
    let value = json(&out);
    let readme = std::fs::read_to_string("README.md").expect("README");
    let prose = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let peak = format!("with at most {} rps", value["proposals"][0]["peak_rps"]);
    assert!(prose.contains(&peak), "the README says {peak}");
    let minutes = value["window_minutes"].as_u64().unwrap();
    let length = format!("window is {} h {} min", minutes / 60, minutes % 60);
    assert!(prose.contains(&length), "the README says {length}");
    // The summary of the runbook held to the traffic of its window.
    let out = topoc(&[&["plan"], &example[..], &["--for", "compose"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let markdown = String::from_utf8_lossy(&out.stdout);
    let summary: Vec<&str> = markdown
        .lines()
        .skip_while(|l| !l.starts_with("| Item"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert!(summary.iter().any(|l| l.starts_with("| Held to | ")));
    readme_section(
        "traffic-plan",
        &format!(
            "`topoc plan {} --for compose`, its summary:\n\n{}\n",
            example.join(" "),
            summary.join("\n")
        ),
    );
    // The example's own window is checked against its traffic, clean.
    let check = topoc(
        &[
            &["check"],
            &example[..1],
            &example[3..],
            &["--deny", "warnings"],
        ]
        .concat(),
    );
    assert_eq!(code(&check), 0, "{}", stderr(&check));
}

mod never_panic {
    //! Whatever the file holds, reading it and analysing it never panics.

    use super::*;
    use proptest::prelude::*;
    use topoc::diagnostics::SeverityConfig;
    use topoc::load::DiskFs;
    use topoc::traffic::{Context, Traffic, analysis::Margin};

    fn checked() -> topoc::Checked {
        let text = topology(r#"window = "Sun 02:00-05:00 UTC+05:30""#);
        topoc::check_text(
            Path::new("acme.topo"),
            &text,
            &DiskFs,
            &SeverityConfig::default(),
        )
    }

    /// Read, then, if it reads, every analysis of both upgrades.
    fn analyse(name: &str, bytes: &[u8]) {
        let Ok(traffic) = Traffic::parse(name, bytes) else {
            return;
        };
        let checked = checked();
        let t = &checked.topology;
        let Ok(context) = Context::new(t, &traffic) else {
            return;
        };
        let d = topoc::deployment::plan(t);
        for (i, _) in t.upgrades.iter().enumerate() {
            let id = topoc::model::UpgradeId(i);
            if let Ok(p) = context.proposals(&d, id, None, Margin::default(), i == 0) {
                let _ = p.table();
            }
            let plan = topoc::plan::plan_upgrade(t, &d, id, topoc::plan::Target::Compose);
            if let Ok(held) = context.held(&d, id, &plan) {
                let _ = held.describe();
            }
        }
        let mut out = Vec::new();
        context.lint(&d, &mut out);
    }

    /// A CSV line: a datacenter, a time near the generated week (some
    /// out of order, some repeated, some odd), a rate of any form.
    fn line() -> impl Strategy<Value = String> {
        (
            prop::sample::select(vec!["colombo", "colombo", "paris", ""]),
            prop_oneof![
                (0i64..400).prop_map(|k| (MONDAY + k * 1800).to_string()),
                (0i64..40).prop_map(|k| rfc3339(MONDAY + k * 3 * HOUR)),
                prop::sample::select(vec!["", "x", "1e99", "-1", "2024-13-01T00:00:00Z"])
                    .prop_map(str::to_string),
            ],
            prop_oneof![
                (0.0f64..2000.0).prop_map(|v| format!("{v:.1}")),
                prop::sample::select(vec!["", "NaN", "inf", "-3", "1,2", "\"7\""])
                    .prop_map(str::to_string),
            ],
        )
            .prop_map(|(dc, t, v)| format!("{dc},{t},{v}"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
            analyse("x.csv", &bytes);
            analyse("x.json", &bytes);
        }

        #[test]
        fn csv_soups_never_panic(lines in prop::collection::vec(line(), 0..60), sorted in any::<bool>()) {
            let mut lines = lines;
            if sorted {
                lines.sort();
            }
            let text = format!("datacenter,timestamp,rps\n{}\n", lines.join("\n"));
            analyse("x.csv", text.as_bytes());
        }

        #[test]
        fn generated_weeks_cut_anywhere_never_panic(days in 1i64..9, step in prop::sample::select(vec![5 * MINUTE, 20 * MINUTE, HOUR]), cut in 0usize..4000) {
            let samples = generate(&[COLOMBO], days, step, 1);
            let text = csv(&samples, true, true);
            let cut = cut.min(text.len());
            analyse("x.csv", &text.as_bytes()[..cut]);
            let json = prometheus(&samples);
            analyse("x.json", &json.as_bytes()[..cut.min(json.len())]);
        }
    }
}
