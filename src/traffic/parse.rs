//! Reading request rates: the JSON of a Prometheus range query
//! (`/api/v1/query_range`) or a CSV with a header. Both become the same
//! thing: for each datacenter the data names (or for the whole deployment),
//! one evenly spaced run of API request rates, and of portal write rates
//! where the data separates them.
//!
//! Bad data is an error that names its place: the line of a CSV, or
//! `data.result[i]` and `values[j]` of the JSON.

use std::collections::BTreeMap;

use super::time::{DAY, HOUR, SECOND, format_rfc3339, parse_timestamp};
use super::{Series, Traffic, TrafficError, Where, duration_text};

/// Where a sample was read.
#[derive(Debug, Clone, Copy)]
enum At {
    Line(usize),
    Sample { series: usize, index: usize },
}

#[derive(Debug, Clone, Copy)]
struct Point {
    at: At,
    time: i64,
    value: f64,
}

/// One run of samples: a CSV datacenter's rows (one column), or one JSON
/// series.
#[derive(Debug, Default)]
struct Run {
    points: Vec<Point>,
}

/// The runs of one datacenter (or of the whole deployment).
#[derive(Debug, Default)]
struct Group {
    api: Vec<Run>,
    writes: Vec<Run>,
}

struct Places<'a> {
    file: &'a str,
    /// A JSON series' description: `data.result[2] {datacenter="london"}`.
    series: Vec<String>,
}

impl Places<'_> {
    fn place(&self, at: At) -> Where {
        match at {
            At::Line(line) => Where::Line(line),
            At::Sample { series, index } => Where::Json(format!(
                "{}, values[{index}]",
                self.series
                    .get(series)
                    .map(String::as_str)
                    .unwrap_or("data.result")
            )),
        }
    }

    fn error(&self, at: At, message: impl Into<String>) -> TrafficError {
        TrafficError {
            file: self.file.to_string(),
            at: self.place(at),
            message: message.into(),
        }
    }
}

fn file_error(file: &str, at: Where, message: impl Into<String>) -> TrafficError {
    TrafficError {
        file: file.to_string(),
        at,
        message: message.into(),
    }
}

/// A rate: a finite number, not negative.
fn rate(text: &str, what: &str) -> Result<f64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("no {what} value"));
    }
    match text.parse::<f64>() {
        Ok(v) if !v.is_finite() => Err(format!(
            "the {what} value `{text}` is not a number of requests per second"
        )),
        Ok(v) if v < 0.0 => Err(format!("the {what} value {text} is negative")),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("the {what} value `{text}` is not a number")),
    }
}

fn unquote(field: &str) -> &str {
    let field = field.trim();
    field
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(field)
        .trim()
}

/// The columns of a CSV header.
struct Columns {
    count: usize,
    time: usize,
    rps: usize,
    datacenter: Option<usize>,
    writes: Option<usize>,
}

const CSV_FORM: &str = "`timestamp,rps`, optionally with `datacenter` and `portal_writes` columns";

impl Columns {
    fn parse(fields: &[&str]) -> Result<Columns, String> {
        let mut found: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, field) in fields.iter().enumerate() {
            let name = field.to_ascii_lowercase();
            let column = match name.as_str() {
                "timestamp" | "time" => "timestamp",
                "rps" => "rps",
                "datacenter" => "datacenter",
                "portal_writes" => "portal_writes",
                _ if i == 0 && parse_timestamp(field).is_ok() => {
                    return Err(format!(
                        "no header: the first line must name the columns, {CSV_FORM}"
                    ));
                }
                _ => {
                    return Err(format!(
                        "unknown column `{field}`: the header is {CSV_FORM}"
                    ));
                }
            };
            if found.insert(column, i).is_some() {
                return Err(format!("the column `{column}` is given twice"));
            }
        }
        let (Some(&time), Some(&rps)) = (found.get("timestamp"), found.get("rps")) else {
            return Err(format!(
                "the header needs a `timestamp` and an `rps` column: {CSV_FORM}"
            ));
        };
        Ok(Columns {
            count: fields.len(),
            time,
            rps,
            datacenter: found.get("datacenter").copied(),
            writes: found.get("portal_writes").copied(),
        })
    }
}

/// A CSV: a header line, then one sample a line. Blank lines and lines
/// starting with `#` are skipped; fields may be double-quoted.
pub fn csv(file: &str, text: &str) -> Result<Traffic, TrafficError> {
    let places = Places {
        file,
        series: Vec::new(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut columns: Option<Columns> = None;
    let mut groups: BTreeMap<Option<String>, Group> = BTreeMap::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let at = At::Line(line);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() || raw.trim_start().starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(unquote).collect();
        let Some(cols) = &columns else {
            columns = Some(Columns::parse(&fields).map_err(|m| places.error(at, m))?);
            continue;
        };
        if fields.len() != cols.count {
            return Err(places.error(
                at,
                format!(
                    "{} fields, where the header has {}",
                    fields.len(),
                    cols.count
                ),
            ));
        }
        let time = parse_timestamp(fields[cols.time]).map_err(|m| places.error(at, m))?;
        let rps = rate(fields[cols.rps], "rps").map_err(|m| places.error(at, m))?;
        let datacenter = match cols.datacenter {
            Some(i) if fields[i].is_empty() => {
                return Err(places.error(at, "no datacenter"));
            }
            Some(i) => Some(fields[i].to_string()),
            None => None,
        };
        let group = groups.entry(datacenter).or_default();
        if group.api.is_empty() {
            group.api.push(Run::default());
        }
        group.api[0].points.push(Point {
            at,
            time,
            value: rps,
        });
        if let Some(i) = cols.writes {
            let writes = rate(fields[i], "portal_writes").map_err(|m| places.error(at, m))?;
            if group.writes.is_empty() {
                group.writes.push(Run::default());
            }
            group.writes[0].points.push(Point {
                at,
                time,
                value: writes,
            });
        }
    }
    if columns.is_none() {
        return Err(file_error(
            file,
            Where::File,
            format!("no data: it needs a header line, {CSV_FORM}, then one sample a line"),
        ));
    }
    if groups.is_empty() {
        return Err(file_error(file, Where::File, "no samples after the header"));
    }
    assemble(&places, groups, Vec::new())
}

/// The JSON a Prometheus range query answers (`/api/v1/query_range`): a
/// matrix of series, each `{"metric": {labels}, "values": [[time, "rate"],
/// ...]}`. Series are summed per datacenter (their `datacenter` label) or
/// all together; a series labelled `traffic="portal-writes"` counts portal
/// writes, not API calls.
pub fn prometheus(file: &str, bytes: &[u8]) -> Result<Traffic, TrafficError> {
    use serde_json::Value;
    let fail = |at: Where, message: String| file_error(file, at, message);
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| fail(Where::Line(e.line().max(1)), format!("not valid JSON: {e}")))?;
    match value.get("status").and_then(Value::as_str) {
        Some("success") => {}
        Some("error") => {
            let kind = value
                .get("errorType")
                .and_then(Value::as_str)
                .unwrap_or("error");
            let message = value.get("error").and_then(Value::as_str).unwrap_or("");
            return Err(fail(
                Where::File,
                format!("the query failed ({kind}): {message}"),
            ));
        }
        _ => {
            return Err(fail(
                Where::File,
                "not the answer of a Prometheus query: it has no `\"status\": \"success\"`"
                    .to_string(),
            ));
        }
    }
    let warnings: Vec<String> = value
        .get("warnings")
        .and_then(Value::as_array)
        .map(|w| {
            w.iter()
                .filter_map(Value::as_str)
                .map(|w| format!("Prometheus warned: {w}"))
                .collect()
        })
        .unwrap_or_default();
    let data = value.get("data");
    match data
        .and_then(|d| d.get("resultType"))
        .and_then(Value::as_str)
    {
        Some("matrix") => {}
        Some(other) => {
            return Err(fail(
                Where::Json("data.resultType".to_string()),
                format!(
                    "the result of an instant query (`{other}`): export a range query (/api/v1/query_range), whose result is a `matrix`"
                ),
            ));
        }
        None => {
            return Err(fail(
                Where::Json("data".to_string()),
                "no `resultType`: not the answer of a Prometheus range query".to_string(),
            ));
        }
    }
    let Some(result) = data.and_then(|d| d.get("result")).and_then(Value::as_array) else {
        return Err(fail(
            Where::Json("data.result".to_string()),
            "no list of series".to_string(),
        ));
    };
    if result.is_empty() {
        return Err(fail(
            Where::Json("data.result".to_string()),
            "no series: the query matched nothing".to_string(),
        ));
    }
    let mut places = Places {
        file,
        series: Vec::new(),
    };
    let mut groups: BTreeMap<Option<String>, Group> = BTreeMap::new();
    let mut labelled: Option<(usize, bool)> = None;
    for (i, series) in result.iter().enumerate() {
        let labels = series.get("metric").and_then(Value::as_object);
        let mut shown: Vec<String> = labels
            .map(|l| {
                l.iter()
                    .map(|(k, v)| {
                        format!(
                            "{k}={}",
                            v.as_str().map_or(v.to_string(), |s| format!("{s:?}"))
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        shown.truncate(4);
        let name = if shown.is_empty() {
            format!("data.result[{i}]")
        } else {
            format!("data.result[{i}] {{{}}}", shown.join(", "))
        };
        places.series.push(name.clone());
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        let datacenter = label("datacenter").map(str::to_string);
        match labelled {
            None => labelled = Some((i, datacenter.is_some())),
            Some((first, with)) if with != datacenter.is_some() => {
                let (has, lacks) = if with { (first, i) } else { (i, first) };
                return Err(fail(
                    Where::Json(format!("data.result[{lacks}]")),
                    format!(
                        "it has no `datacenter` label, and data.result[{has}] has one: label every series with its datacenter, or none"
                    ),
                ));
            }
            Some(_) => {}
        }
        let writes = match label("traffic") {
            None | Some("api") => false,
            Some("portal-writes") => true,
            Some(other) => {
                return Err(fail(
                    Where::Json(name),
                    format!(
                        "the label traffic={other:?}: a series is `api` (the default) or `portal-writes`"
                    ),
                ));
            }
        };
        let Some(values) = series.get("values").and_then(Value::as_array) else {
            return Err(fail(
                Where::Json(name),
                "no `values`: each series of a range query carries [time, \"rate\"] pairs"
                    .to_string(),
            ));
        };
        if values.is_empty() {
            return Err(fail(Where::Json(name), "no samples".to_string()));
        }
        let mut run = Run::default();
        for (j, pair) in values.iter().enumerate() {
            let at = At::Sample {
                series: i,
                index: j,
            };
            let (time, value) = match pair.as_array().map(Vec::as_slice) {
                Some([time, value]) => (time, value),
                _ => {
                    return Err(places.error(at, "a sample is a pair [time, \"rate\"]".to_string()));
                }
            };
            let time = match time {
                Value::Number(n) => n.as_f64().map(|s| s.to_string()),
                Value::String(s) => Some(s.clone()),
                _ => None,
            }
            .ok_or_else(|| places.error(at, "its time is not a number of seconds"))
            .and_then(|t| parse_timestamp(&t).map_err(|m| places.error(at, m)))?;
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            let value = rate(&text, "rate").map_err(|m| places.error(at, m))?;
            run.points.push(Point { at, time, value });
        }
        let group = groups.entry(datacenter).or_default();
        if writes {
            group.writes.push(run);
        } else {
            group.api.push(run);
        }
    }
    for (datacenter, group) in &groups {
        if group.api.is_empty() {
            return Err(fail(
                Where::File,
                match datacenter {
                    Some(dc) => format!(
                        "datacenter {dc:?} has portal writes but no API traffic (a series without traffic=\"portal-writes\")"
                    ),
                    None => "only portal writes: no series of API traffic (one without traffic=\"portal-writes\")".to_string(),
                },
            ));
        }
    }
    assemble(&places, groups, warnings)
}

/// How often each interval between samples occurs, over all runs.
fn interval_counts<'a>(runs: impl Iterator<Item = &'a Run>) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for run in runs {
        for w in run.points.windows(2) {
            let d = w[1].time - w[0].time;
            if d > 0 {
                *counts.entry(d).or_insert(0) += 1;
            }
        }
    }
    counts
}

/// The interval between the samples of a run, after checking that times
/// only go forward, evenly. `overall` counts the intervals of every run.
fn step_of(
    places: &Places,
    run: &Run,
    overall: &BTreeMap<i64, usize>,
) -> Result<i64, TrafficError> {
    let points = &run.points;
    // The step is the run's most common interval, so that the odd one out
    // is the one reported; between equals, the one most common in the
    // whole file, then the first.
    let mut seen: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for (i, w) in points.windows(2).enumerate() {
        let d = w[1].time - w[0].time;
        if d > 0 {
            seen.entry(d).or_insert((0, i)).0 += 1;
        }
    }
    let step = seen
        .into_iter()
        .max_by(|(da, (na, ia)), (db, (nb, ib))| {
            na.cmp(nb)
                .then(overall.get(da).cmp(&overall.get(db)))
                .then(ib.cmp(ia))
        })
        .map(|(d, _)| d);
    // Times that go back or repeat first: a sample out of place also
    // leaves a gap where it should have been, and that is not the news.
    for w in points.windows(2) {
        let (before, after) = (&w[0], &w[1]);
        let d = after.time - before.time;
        let when = format_rfc3339(after.time);
        if d == 0 {
            return Err(places.error(
                after.at,
                format!("a second sample at {when} (duplicate timestamp)"),
            ));
        }
        if d < 0 {
            return Err(places.error(
                after.at,
                format!(
                    "{when} comes before the sample above it ({}): times must only go forward",
                    format_rfc3339(before.time)
                ),
            ));
        }
    }
    for w in points.windows(2) {
        let (before, after) = (&w[0], &w[1]);
        let d = after.time - before.time;
        let when = format_rfc3339(after.time);
        let step = step.unwrap_or(d);
        if d != step {
            return Err(places.error(
                after.at,
                if d % step == 0 {
                    format!(
                        "a gap: no sample from {} to {when} ({} missing; the data has a sample every {})",
                        format_rfc3339(before.time + step),
                        d / step - 1,
                        duration_text(step)
                    )
                } else {
                    format!(
                        "{when} is {} after the sample above it, where the data has a sample every {}",
                        duration_text(d),
                        duration_text(step)
                    )
                },
            ));
        }
    }
    let Some(step) = step else {
        return Err(places.error(
            points[0].at,
            "only one sample: it takes two to know how often the data is sampled",
        ));
    };
    if step > HOUR {
        return Err(places.error(
            points[0].at,
            format!(
                "a sample every {}: too coarse to place a window in; give at most one hour between samples",
                duration_text(step)
            ),
        ));
    }
    if step < SECOND || DAY % step != 0 {
        return Err(places.error(
            points[0].at,
            format!(
                "a sample every {}: the interval between samples must divide a day (e.g. 1 min, 5 min, 15 min, 1 h)",
                duration_text(step)
            ),
        ));
    }
    Ok(step)
}

/// The longest stretch of time the data may cover.
const MAX_SPAN: i64 = 366 * DAY;

/// Check every run, then sum the runs of each group on one time grid.
fn assemble(
    places: &Places,
    groups: BTreeMap<Option<String>, Group>,
    mut warnings: Vec<String>,
) -> Result<Traffic, TrafficError> {
    let mut step: Option<(i64, At, i64)> = None;
    let overall = interval_counts(groups.values().flat_map(|g| g.api.iter().chain(&g.writes)));
    for group in groups.values() {
        for run in group.api.iter().chain(&group.writes) {
            let this = step_of(places, run, &overall)?;
            let first = run.points[0];
            match step {
                None => step = Some((this, first.at, first.time)),
                Some((s, at, _)) if s != this => {
                    return Err(places.error(
                        first.at,
                        format!(
                            "a sample every {}, where the data before ({}) has one every {}",
                            duration_text(this),
                            places.place(at).describe(),
                            duration_text(s)
                        ),
                    ));
                }
                Some((s, at, origin)) if (first.time - origin).rem_euclid(s) != 0 => {
                    return Err(places.error(
                        first.at,
                        format!(
                            "its samples fall between those of {}: every series must be sampled at the same times",
                            places.place(at).describe()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let Some((step, _, _)) = step else {
        return Err(file_error(places.file, Where::File, "no samples"));
    };
    // The data spans from its first sample to its last, over every
    // datacenter: a year at most, so that a stray year in one datacenter's
    // rows is an error rather than a grid of billions of samples.
    let first = groups
        .values()
        .flat_map(|g| g.api.iter().chain(&g.writes))
        .map(|r| r.points[0].time)
        .min()
        .unwrap_or_default();
    let last = groups
        .values()
        .flat_map(|g| g.api.iter().chain(&g.writes))
        .map(|r| r.points[r.points.len() - 1].time)
        .max()
        .unwrap_or_default();
    if last - first > MAX_SPAN {
        return Err(file_error(
            places.file,
            Where::File,
            format!(
                "the samples span {} (from {} to {}): give at most a year, and the same weeks for every datacenter",
                duration_text(last - first),
                format_rfc3339(first),
                format_rfc3339(last)
            ),
        ));
    }
    let labelled = groups.keys().any(Option::is_some);
    let mut series = Vec::new();
    for (datacenter, group) in groups {
        let runs = group.api.iter().chain(&group.writes);
        let start = runs
            .clone()
            .map(|r| r.points[0].time)
            .min()
            .unwrap_or_default();
        let end = runs
            .map(|r| r.points[r.points.len() - 1].time + step)
            .max()
            .unwrap_or(start);
        let len = ((end - start) / step) as usize;
        let sum = |runs: &[Run]| {
            let mut out = vec![0.0; len];
            for run in runs {
                for p in &run.points {
                    out[((p.time - start) / step) as usize] += p.value;
                }
            }
            out
        };
        series.push(Series {
            datacenter,
            start,
            rps: sum(&group.api),
            writes: (!group.writes.is_empty()).then(|| sum(&group.writes)),
        });
    }
    let total = Series::sum(&series, step);
    let traffic = Traffic {
        source: places.file.to_string(),
        step,
        labelled,
        series,
        total,
        warnings: Vec::new(),
    };
    warnings.extend(traffic.coverage_warnings());
    Ok(Traffic {
        warnings,
        ..traffic
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        csv("t.csv", text).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn a_csv_is_read() {
        let t = csv(
            "t.csv",
            "# exported\ntimestamp,rps\n2024-04-29T00:00:00Z,10\n2024-04-29T00:05:00Z,12.5\r\n\n1714349400,\"11\"\n",
        )
        .unwrap();
        assert_eq!(t.step, 5 * 60_000);
        assert_eq!(t.total.rps, vec![10.0, 12.5, 11.0]);
        assert!(!t.labelled);
        assert!(t.total.writes.is_none());
    }

    #[test]
    fn datacenters_and_portal_writes_are_columns() {
        let t = csv(
            "t.csv",
            "datacenter,timestamp,rps,portal_writes\nlondon,1714348800,5,1\ncolombo,1714348800,7,0\nlondon,1714349100,6,2\ncolombo,1714349100,8,0.5\n",
        )
        .unwrap();
        assert!(t.labelled);
        assert_eq!(t.series.len(), 2);
        assert_eq!(t.series[0].datacenter.as_deref(), Some("colombo"));
        assert_eq!(t.total.rps, vec![12.0, 14.0]);
        assert_eq!(t.total.writes, Some(vec![1.0, 2.5]));
    }

    #[test]
    fn bad_csv_data_names_its_line() {
        let head = "timestamp,rps\n2024-04-29T00:00:00Z,10\n2024-04-29T00:05:00Z,10\n";
        let cases = [
            (
                format!("{head}2024-04-29T00:20:00Z,10\n"),
                "t.csv:4: a gap: no sample from 2024-04-29T00:10:00Z to 2024-04-29T00:20:00Z (2 missing",
            ),
            (
                format!("{head}2024-04-29T00:05:00Z,10\n"),
                "t.csv:4: a second sample at 2024-04-29T00:05:00Z (duplicate timestamp)",
            ),
            (
                format!("{head}2024-04-29T00:01:00Z,10\n"),
                "t.csv:4: 2024-04-29T00:01:00Z comes before",
            ),
            (
                format!("{head}2024-04-29T00:08:00Z,10\n"),
                "t.csv:4: 2024-04-29T00:08:00Z is 3 min after",
            ),
            (
                format!("{head}2024-04-29T00:10:00Z,-1\n"),
                "t.csv:4: the rps value -1 is negative",
            ),
            (
                format!("{head}2024-04-29T00:10:00Z,lots\n"),
                "t.csv:4: the rps value `lots` is not a number",
            ),
            (
                format!("{head}2024-04-29T00:10:00Z,NaN\n"),
                "t.csv:4: the rps value `NaN` is not a number of requests",
            ),
            (
                format!("{head}2024-04-29T00:10:00Z\n"),
                "t.csv:4: 1 fields, where the header has 2",
            ),
            (
                format!("{head}soon,10\n"),
                "t.csv:4: `soon` is not a timestamp",
            ),
            (
                "timestamp,rps\n2024-04-29T00:00:00Z,1\n".to_string(),
                "t.csv:2: only one sample",
            ),
            ("2024-04-29T00:00:00Z,1\n".to_string(), "t.csv:1: no header"),
            (
                "time,requests\n".to_string(),
                "t.csv:1: unknown column `requests`",
            ),
            (
                "timestamp,rps,rps\n".to_string(),
                "t.csv:1: the column `rps` is given twice",
            ),
            (
                "timestamp\n".to_string(),
                "t.csv:1: the header needs a `timestamp` and an `rps` column",
            ),
            (
                "timestamp,rps\n".to_string(),
                "t.csv: no samples after the header",
            ),
            ("".to_string(), "t.csv: no data"),
            (
                "timestamp,rps\n1714348800,1\n1714356000,1\n".to_string(),
                "t.csv:2: a sample every 2 h: too coarse",
            ),
            (
                "timestamp,rps\n1714348800,1\n1714349220,1\n".to_string(),
                "t.csv:2: a sample every 7 min: the interval between samples must divide a day",
            ),
        ];
        for (text, expected) in cases {
            let got = error(&text);
            assert!(got.starts_with(expected), "{got}\n  expected: {expected}");
        }
    }

    #[test]
    fn several_datacenters_share_one_step() {
        let got = error(
            "datacenter,timestamp,rps\na,1714348800,1\na,1714349100,1\nb,1714348800,1\nb,1714348860,1\n",
        );
        assert!(
            got.starts_with(
                "t.csv:4: a sample every 1 min, where the data before (line 2) has one every 5 min"
            ),
            "{got}"
        );
        let got = error(
            "datacenter,timestamp,rps\na,1714348800,1\na,1714349100,1\nb,1714348860,1\nb,1714349160,1\n",
        );
        assert!(got.contains("fall between those of line 2"), "{got}");
    }

    fn matrix(series: &str) -> String {
        format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{series}]}}}}"#)
    }

    #[test]
    fn data_far_apart_is_refused() {
        let got = error(
            "datacenter,timestamp,rps\na,1714348800,1\na,1714348860,1\nb,4714348800,1\nb,4714348860,1\n",
        );
        assert!(
            got.starts_with("t.csv: the samples span 34722 days"),
            "{got}"
        );
    }

    #[test]
    fn prometheus_series_are_summed() {
        let text = matrix(
            r#"{"metric":{"pod":"gw-1"},"values":[[1714348800,"1.5"],[1714348860,"2"]]},
               {"metric":{"pod":"gw-2"},"values":[[1714348860,"3"],[1714348920,"1"]]},
               {"metric":{"traffic":"portal-writes"},"values":[[1714348800,"0.25"],[1714348860,"0"]]}"#,
        );
        let t = prometheus("q.json", text.as_bytes()).unwrap();
        assert_eq!(t.step, 60_000);
        // gw-2 started a minute late: it counts as 0 before.
        assert_eq!(t.total.rps, vec![1.5, 5.0, 1.0]);
        assert_eq!(t.total.writes, Some(vec![0.25, 0.0, 0.0]));
    }

    #[test]
    fn bad_prometheus_data_names_its_series() {
        let cases = [
            ("{".to_string(), "q.json:1: not valid JSON"),
            (
                r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#.to_string(),
                "q.json: the query failed (bad_data): parse error",
            ),
            (
                r#"{"data":{}}"#.to_string(),
                "q.json: not the answer of a Prometheus query",
            ),
            (
                r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#.to_string(),
                "q.json: data.resultType: the result of an instant query (`vector`)",
            ),
            (matrix(""), "q.json: data.result: no series"),
            (
                matrix(r#"{"metric":{},"values":[[1714348800,"1"],[1714348860,"NaN"]]}"#),
                "q.json: data.result[0], values[1]: the rate value `NaN`",
            ),
            (
                matrix(r#"{"metric":{"job":"gw"},"values":[[1714348800,"1"],[1714348860,"-2"]]}"#),
                "q.json: data.result[0] {job=\"gw\"}, values[1]: the rate value -2 is negative",
            ),
            (
                matrix(
                    r#"{"metric":{},"values":[[1714348800,"1"],[1714348860,"1"]]},{"metric":{},"values":[[1714348800,"1"],[1714348980,"1"],[1714349040,"1"]]}"#,
                ),
                "q.json: data.result[1], values[1]: a gap",
            ),
            (
                matrix(r#"{"metric":{},"values":[[1714348860,"1"],[1714348800,"1"]]}"#),
                "q.json: data.result[0], values[1]: 2024-04-29T00:00:00Z comes before",
            ),
            (
                matrix(r#"{"metric":{},"values":[[1714348860,"1"],[1714348860,"1"]]}"#),
                "q.json: data.result[0], values[1]: a second sample",
            ),
            (
                matrix(r#"{"metric":{},"values":[[1714348860,"1",3]]}"#),
                "q.json: data.result[0], values[0]: a sample is a pair",
            ),
            (
                matrix(r#"{"metric":{}}"#),
                "q.json: data.result[0]: no `values`",
            ),
            (
                matrix(
                    r#"{"metric":{"datacenter":"a"},"values":[[1,"1"],[61,"1"]]},{"metric":{},"values":[[1,"1"],[61,"1"]]}"#,
                ),
                "q.json: data.result[1]: it has no `datacenter` label, and data.result[0] has one",
            ),
            (
                matrix(r#"{"metric":{"traffic":"errors"},"values":[[1,"1"],[61,"1"]]}"#),
                "q.json: data.result[0] {traffic=\"errors\"}: the label traffic=\"errors\"",
            ),
            (
                matrix(r#"{"metric":{"traffic":"portal-writes"},"values":[[1,"1"],[61,"1"]]}"#),
                "q.json: only portal writes",
            ),
        ];
        for (text, expected) in cases {
            let got = prometheus("q.json", text.as_bytes())
                .map(|_| ())
                .unwrap_err()
                .to_string();
            assert!(got.starts_with(expected), "{got}\n  expected: {expected}");
        }
    }
}
