//! Real traffic: request rates read from a Prometheus range query or a
//! CSV ([`parse`]), folded into a week ([`week`]), and what they say about
//! an upgrade ([`analysis`]): the windows to propose, the rate a plan is
//! held to in its window, and how far an upgrade's window is from the
//! quietest one.

pub mod analysis;
mod parse;
pub mod time;
pub mod week;

use std::fmt;
use std::path::Path;

pub use analysis::{Context, HeldCluster, HeldDatacenter, HeldTo, Proposal, Proposals};

/// Where in a traffic file something is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// The file as a whole.
    File,
    /// A line of a CSV (or of the JSON, for a syntax error), from 1.
    Line(usize),
    /// A place in the JSON: `data.result[2] {datacenter="london"}, values[14]`.
    Json(String),
}

impl Where {
    /// `line 14`, or the place in the JSON.
    pub fn describe(&self) -> String {
        match self {
            Where::File => "the file".to_string(),
            Where::Line(line) => format!("line {line}"),
            Where::Json(path) => path.clone(),
        }
    }
}

/// Bad traffic data: what is wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrafficError {
    /// The traffic file, as given on the command line.
    pub file: String,
    /// Where in the file the data is wrong.
    pub at: Where,
    /// What is wrong, as a sentence.
    pub message: String,
}

impl fmt::Display for TrafficError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Where::File => write!(f, "{}: {}", self.file, self.message),
            Where::Line(line) => write!(f, "{}:{line}: {}", self.file, self.message),
            Where::Json(path) => write!(f, "{}: {path}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for TrafficError {}

/// One evenly spaced run of rates: of a datacenter, or of the whole
/// deployment. Sample `i` stands for the interval that starts at
/// `start + i x step`.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `None`: the whole deployment (the data names no datacenters).
    pub datacenter: Option<String>,
    /// Milliseconds since the epoch.
    pub start: i64,
    /// API requests per second.
    pub rps: Vec<f64>,
    /// Portal (Publisher, DevPortal) write requests per second, where the
    /// data separates them.
    pub writes: Option<Vec<f64>>,
}

impl Series {
    /// The sum of several series on their common grid; a series counts as
    /// 0 outside its span. Portal writes are known only if every series
    /// knows them.
    pub fn sum(series: &[Series], step: i64) -> Series {
        let start = series.iter().map(|s| s.start).min().unwrap_or_default();
        let end = series
            .iter()
            .map(|s| s.start + s.rps.len() as i64 * step)
            .max()
            .unwrap_or(start);
        let len = ((end - start) / step) as usize;
        let mut rps = vec![0.0; len];
        let mut writes = series
            .iter()
            .all(|s| s.writes.is_some())
            .then(|| vec![0.0; len]);
        for s in series {
            let offset = ((s.start - start) / step) as usize;
            for (i, v) in s.rps.iter().enumerate() {
                rps[offset + i] += v;
            }
            if let (Some(out), Some(w)) = (writes.as_mut(), &s.writes) {
                for (i, v) in w.iter().enumerate() {
                    out[offset + i] += v;
                }
            }
        }
        Series {
            datacenter: None,
            start,
            rps,
            writes,
        }
    }

    /// The time just past the last sample, in milliseconds since the epoch, for
    /// samples `step` milliseconds apart.
    pub fn end(&self, step: i64) -> i64 {
        self.start + self.rps.len() as i64 * step
    }
}

/// Request rates over time, as read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic {
    /// The file, as named on the command line.
    pub source: String,
    /// Milliseconds between samples.
    pub step: i64,
    /// The data names datacenters (a `datacenter` label or column).
    pub labelled: bool,
    /// By datacenter (sorted by name), or the one series of the whole
    /// deployment.
    pub series: Vec<Series>,
    /// Every series summed.
    pub total: Series,
    /// What is worth knowing but does not stop the analysis (fewer than
    /// seven days, say).
    pub warnings: Vec<String>,
}

impl Traffic {
    /// Read a traffic file: JSON when it ends in `.json` or starts with
    /// `{`, CSV otherwise.
    pub fn load(path: &Path) -> Result<Traffic, TrafficError> {
        let name = crate::source::display_path(path);
        let bytes = std::fs::read(path).map_err(|e| TrafficError {
            file: name.clone(),
            at: Where::File,
            message: format!("cannot be read: {e}"),
        })?;
        Traffic::parse(&name, &bytes)
    }

    /// Parse traffic data held in memory; `name` is how errors name it.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<Traffic, TrafficError> {
        let json = name.to_ascii_lowercase().ends_with(".json")
            || (!name.to_ascii_lowercase().ends_with(".csv")
                && bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'));
        if json {
            return parse::prometheus(name, bytes);
        }
        let text = std::str::from_utf8(bytes).map_err(|e| TrafficError {
            file: name.to_string(),
            at: Where::Line(
                bytes[..e.valid_up_to()]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1,
            ),
            message: "not UTF-8 text".to_string(),
        })?;
        parse::csv(name, text)
    }

    /// The first sample's time.
    pub fn from(&self) -> i64 {
        self.total.start
    }

    /// The end of the last sample's interval.
    pub fn to(&self) -> i64 {
        self.total.end(self.step)
    }

    /// Whether portal writes are known for the whole deployment.
    pub fn has_writes(&self) -> bool {
        self.total.writes.is_some()
    }

    /// `14 days, from Mon 2024-04-29 00:00 UTC, a sample every 5 min`.
    pub fn describe(&self) -> String {
        format!(
            "{}, from {} {} UTC, a sample every {}",
            duration_text(self.to() - self.from()),
            time::format_day(self.from()),
            time::clock(self.from()),
            duration_text(self.step)
        )
    }

    /// Fewer than seven days (of the whole, or of a datacenter).
    fn coverage_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let short = |series: &Series| {
            let span = series.end(self.step) - series.start;
            (span < time::WEEK).then(|| {
                format!(
                    "covers {} (from {} {} UTC): fewer than 7 days, so a weekday it misses gets no proposal, and a window on it cannot be checked",
                    duration_text(span),
                    time::format_day(series.start),
                    time::clock(series.start)
                )
            })
        };
        if let Some(warning) = short(&self.total) {
            out.push(format!("{}: the data {warning}", self.source));
        } else {
            for series in &self.series {
                if let (Some(dc), Some(warning)) = (&series.datacenter, short(series)) {
                    out.push(format!(
                        "{}: the data of datacenter `{dc}` {warning}",
                        self.source
                    ));
                }
            }
        }
        out
    }
}

/// `5 min`, `30 s`, `1 h`, `3 days 4 h`.
pub fn duration_text(ms: i64) -> String {
    use time::{DAY, HOUR, MINUTE, SECOND};
    let ms = ms.max(0);
    if ms % MINUTE != 0 {
        let seconds = ms as f64 / SECOND as f64;
        return format!("{} s", crate::model::format_number(seconds));
    }
    let (days, hours, minutes) = (ms / DAY, ms % DAY / HOUR, ms % HOUR / MINUTE);
    let mut parts = Vec::new();
    match days {
        0 => {}
        1 => parts.push("1 day".to_string()),
        n => parts.push(format!("{n} days")),
    }
    if hours > 0 {
        parts.push(format!("{hours} h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes} min"));
    }
    if parts.is_empty() {
        "0 min".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_text(5 * time::MINUTE), "5 min");
        assert_eq!(duration_text(30 * time::SECOND), "30 s");
        assert_eq!(duration_text(1500), "1.5 s");
        assert_eq!(duration_text(time::HOUR + 30 * time::MINUTE), "1 h 30 min");
        assert_eq!(duration_text(14 * time::DAY), "14 days");
        assert_eq!(duration_text(time::DAY + 4 * time::HOUR), "1 day 4 h");
    }

    #[test]
    fn the_format_follows_the_name_or_the_first_byte() {
        let csv = b"timestamp,rps\n1714348800,1\n1714348860,2\n";
        assert!(Traffic::parse("x.csv", csv).is_ok());
        assert!(Traffic::parse("x.txt", csv).is_ok());
        let json = br#" {"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1714348800,"1"],[1714348860,"2"]]}]}}"#;
        assert!(Traffic::parse("export", json).is_ok());
        let error = Traffic::parse("x.json", csv).unwrap_err();
        assert!(
            error.to_string().starts_with("x.json:1: not valid JSON"),
            "{error}"
        );
        let error = Traffic::parse("x.csv", b"timestamp,rps\n\xff\n").unwrap_err();
        assert_eq!(error.to_string(), "x.csv:2: not UTF-8 text");
    }

    #[test]
    fn short_data_is_a_warning() {
        let t = Traffic::parse("x.csv", b"timestamp,rps\n1714348800,1\n1714348860,2\n").unwrap();
        assert_eq!(t.warnings.len(), 1);
        assert!(
            t.warnings[0].starts_with(
                "x.csv: the data covers 2 min (from Mon 2024-04-29 00:00 UTC): fewer than 7 days"
            ),
            "{}",
            t.warnings[0]
        );
    }
}
