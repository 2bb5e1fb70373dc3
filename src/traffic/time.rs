//! The little civil-time arithmetic the traffic analysis needs, done by
//! hand: days since the epoch to a date and a weekday, RFC 3339 timestamps,
//! fixed UTC offsets, and maintenance windows placed in the week.
//!
//! Times are milliseconds since the Unix epoch (UTC). A position in the
//! week is milliseconds since Monday 00:00 UTC. Time zones are fixed UTC
//! offsets: there is no time zone database, so daylight saving time is not
//! modelled (give the offset in force when the window runs).

use std::fmt;

/// A second, in milliseconds.
pub const SECOND: i64 = 1_000;
/// A minute, in milliseconds.
pub const MINUTE: i64 = 60 * SECOND;
/// An hour, in milliseconds.
pub const HOUR: i64 = 60 * MINUTE;
/// A day, in milliseconds.
pub const DAY: i64 = 24 * HOUR;
/// A week, in milliseconds.
pub const WEEK: i64 = 7 * DAY;

/// Monday first, as ISO 8601 counts.
pub const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const WEEKDAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day since 1970-01-01 (H. Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// The position in the week (milliseconds since Monday 00:00 UTC) of a
/// time. 1970-01-01 was a Thursday, three days after a Monday.
pub fn week_position(ms: i64) -> i64 {
    (ms + 3 * DAY).rem_euclid(WEEK)
}

/// A time as RFC 3339 in UTC: `2024-04-29T00:00:00Z` (milliseconds shown
/// only when there are any).
pub fn format_rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    let rest = ms.rem_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        rest / HOUR,
        rest % HOUR / MINUTE,
        rest % MINUTE / SECOND,
        rest % SECOND,
    );
    if milli == 0 {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
    }
}

/// `Mon 2024-04-29`: the weekday and date of a time in UTC.
pub fn format_day(ms: i64) -> String {
    let days = ms.div_euclid(DAY);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {y:04}-{m:02}-{d:02}",
        WEEKDAYS[week_position(ms).div_euclid(DAY) as usize]
    )
}

/// A timestamp as RFC 3339 (`2024-04-29T00:00:00Z`, `...T05:30:00+05:30`,
/// fractions of a second allowed, a space for the `T`) or as Unix seconds
/// (`1714348800`, `1714348800.5`).
pub fn parse_timestamp(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("no timestamp".to_string());
    }
    if text.contains('-') && text.len() >= 10 && text.as_bytes()[4] == b'-' {
        return parse_rfc3339(text);
    }
    let seconds: f64 = text.parse().map_err(|_| {
        format!("`{text}` is not a timestamp: give RFC 3339 (2024-04-29T00:00:00Z) or Unix seconds")
    })?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` is not a timestamp after 1970"));
    }
    // 1e11 seconds is the year 5138: a bigger number is milliseconds.
    if seconds >= 1e11 {
        return Err(format!(
            "`{text}` looks like milliseconds; give Unix seconds (or RFC 3339)"
        ));
    }
    Ok((seconds * 1000.0).round() as i64)
}

/// An RFC 3339 date-time with an offset (`Z` or `+HH:MM`).
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = |why: &str| format!("`{text}` is not an RFC 3339 timestamp: {why}");
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (Some(year), Some(month), Some(day)) = (digits(0, 4), digits(5, 2), digits(8, 2)) else {
        return Err(bad("write the date as YYYY-MM-DD"));
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(bad("write the date as YYYY-MM-DD"));
    }
    if !(1..=12).contains(&month) || day < 1 || day > i64::from(days_in_month(year, month as u32)) {
        return Err(bad("no such date"));
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) {
        return Err(bad("a time must follow the date (YYYY-MM-DDTHH:MM:SSZ)"));
    }
    let (Some(hour), Some(minute)) = (digits(11, 2), digits(14, 2)) else {
        return Err(bad("write the time as HH:MM:SS"));
    };
    if b.get(13) != Some(&b':') {
        return Err(bad("write the time as HH:MM:SS"));
    }
    let mut at = 16;
    let mut second = 0;
    let mut millis = 0i64;
    if b.get(at) == Some(&b':') {
        second = digits(17, 2).ok_or_else(|| bad("write the seconds as two digits"))?;
        at = 19;
        if b.get(at) == Some(&b'.') {
            let start = at + 1;
            let mut end = start;
            while b.get(end).is_some_and(u8::is_ascii_digit) {
                end += 1;
            }
            if end == start {
                return Err(bad("no digits after the decimal point"));
            }
            let fraction = &text[start..end.min(start + 3)];
            millis = format!("{fraction:0<3}").parse().unwrap_or(0);
            at = end;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(bad("no such time of day"));
    }
    let offset = match &text[at..] {
        "Z" | "z" => 0,
        "" => {
            return Err(bad(
                "it has no UTC offset: end it with Z or +HH:MM so that it is not read in the wrong zone",
            ));
        }
        zone => match UtcOffset::parse_numeric(zone) {
            Some(offset) => i64::from(offset.minutes) * MINUTE,
            None => return Err(bad("end it with Z or an offset +HH:MM")),
        },
    };
    let days = days_from_civil(year, month as u32, day as u32);
    if days < 0 {
        return Err(bad("it is before 1970"));
    }
    Ok(days * DAY + hour * HOUR + minute * MINUTE + second.min(59) * SECOND + millis - offset)
}

/// A fixed offset from UTC, in minutes east.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UtcOffset {
    /// Minutes east of UTC: 330 for `UTC+05:30`, -180 for `UTC-3`.
    pub minutes: i32,
}

impl UtcOffset {
    /// UTC itself, offset zero.
    pub const UTC: UtcOffset = UtcOffset { minutes: 0 };

    /// `UTC`, `GMT`, `Z`, `UTC+05:30`, `UTC+5:30`, `UTC-3`, `+05:30`,
    /// `-0300`: at most 14 hours either way.
    pub fn parse(text: &str) -> Option<UtcOffset> {
        let text = text.trim();
        let upper = text.to_ascii_uppercase();
        let rest = upper
            .strip_prefix("UTC")
            .or_else(|| upper.strip_prefix("GMT"))
            .unwrap_or(&upper);
        if rest.is_empty() {
            return (text.len() >= 3).then_some(UtcOffset::UTC);
        }
        if rest == "Z" && text.len() == 1 {
            return Some(UtcOffset::UTC);
        }
        UtcOffset::parse_numeric(rest)
    }

    /// `+05:30`, `-03:00`, `+0530`, `+5`, `-3:30`.
    fn parse_numeric(text: &str) -> Option<UtcOffset> {
        let (sign, rest) = match text.as_bytes().first()? {
            b'+' => (1, &text[1..]),
            b'-' => (-1, &text[1..]),
            _ => return None,
        };
        if rest.is_empty() || !rest.bytes().all(|c| c.is_ascii_digit() || c == b':') {
            return None;
        }
        let (hours, minutes) = match rest.split_once(':') {
            Some((h, m)) if m.len() == 2 && !h.is_empty() && h.len() <= 2 => {
                (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?)
            }
            Some(_) => return None,
            None if rest.len() == 4 => (rest[..2].parse().ok()?, rest[2..].parse().ok()?),
            None if rest.len() <= 2 => (rest.parse().ok()?, 0),
            None => return None,
        };
        let total = hours * 60 + minutes;
        (minutes < 60 && total <= 14 * 60).then_some(UtcOffset {
            minutes: sign * total,
        })
    }

    /// The offset in milliseconds, east positive.
    pub fn millis(self) -> i64 {
        i64::from(self.minutes) * MINUTE
    }
}

impl serde::Serialize for UtcOffset {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for UtcOffset {
    /// `UTC`, or `UTC+05:30`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minutes == 0 {
            return f.write_str("UTC");
        }
        let sign = if self.minutes < 0 { '-' } else { '+' };
        let m = self.minutes.unsigned_abs();
        write!(f, "UTC{sign}{:02}:{:02}", m / 60, m % 60)
    }
}

/// A weekday name: `Sun`, `sunday`, `SUN`.
pub fn parse_weekday(word: &str) -> Option<usize> {
    let lower = word.to_ascii_lowercase();
    WEEKDAY_NAMES
        .iter()
        .position(|name| lower == *name || (lower.len() == 3 && name.starts_with(&lower)))
}

/// `HH:MM` (or `H:MM`) as minutes after midnight.
fn parse_clock(word: &str) -> Option<u32> {
    let (h, m) = word.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    if !h.bytes().chain(m.bytes()).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// A maintenance window placed in the week: `Sun 01:00-04:00 UTC`,
/// `Sat 23:00 - Sun 02:00 UTC`, `Sunday 01:00-04:00 UTC+05:30`, or without
/// a weekday (`01:00-04:00`): any day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyWindow {
    /// Monday = 0; `None`: any day.
    pub day: Option<usize>,
    /// Minutes after midnight, in the window's zone.
    pub start: u32,
    /// The window's length in minutes; it may run past midnight into the next
    /// day.
    pub minutes: u32,
    /// The zone written in the window, if any.
    pub zone: Option<UtcOffset>,
}

/// How a window is written, for the messages that say why one cannot be
/// read.
pub const WINDOW_FORM: &str = "a weekday, a time range and a UTC offset, e.g. `Sun 01:00-04:00 UTC` or `Sat 23:00-02:00 UTC+05:30`";

impl WeeklyWindow {
    /// Reads a window written as [`WINDOW_FORM`] says; the error says what is
    /// missing or wrong.
    pub fn parse(text: &str) -> Result<WeeklyWindow, String> {
        let spaced = text.replace('-', " - ").replace(',', " ");
        let words: Vec<&str> = spaced.split_whitespace().collect();
        let mut at = 0;
        let day = words.first().and_then(|w| parse_weekday(w));
        if day.is_some() {
            at += 1;
        }
        let start = words.get(at).and_then(|w| parse_clock(w)).ok_or_else(|| {
            format!("it has no start time HH:MM where expected: write {WINDOW_FORM}")
        })?;
        at += 1;
        if words.get(at) != Some(&"-") {
            return Err(format!(
                "it has no `-` between its start and its end: write {WINDOW_FORM}"
            ));
        }
        at += 1;
        let end_day = words.get(at).and_then(|w| parse_weekday(w));
        if end_day.is_some() {
            at += 1;
        }
        let end = words
            .get(at)
            .and_then(|w| parse_clock(w))
            .ok_or_else(|| format!("it has no end time HH:MM: write {WINDOW_FORM}"))?;
        at += 1;
        // The zone: one word (`UTC+05:30`), or `UTC` `+` `05:30` once the
        // dashes were spaced out, or `+05:30` split the same way.
        let rest: String = words[at..].concat();
        let zone = if rest.is_empty() {
            None
        } else {
            Some(UtcOffset::parse(&rest).ok_or_else(|| {
                format!(
                    "`{}` is not a UTC offset (topoc knows no time zone names: write UTC, or an offset such as UTC+05:30)",
                    words[at..].join(" ").replace(" - ", "-")
                )
            })?)
        };
        let minutes = match (day, end_day) {
            (None, Some(_)) => {
                return Err(format!(
                    "it names a weekday for its end but not for its start: write {WINDOW_FORM}"
                ));
            }
            (Some(from), Some(to)) => {
                let from = from as u32 * 1440 + start;
                let to = to as u32 * 1440 + end;
                let length = (to + 7 * 1440 - from) % (7 * 1440);
                if length > 1440 {
                    return Err(
                        "it lasts more than a day; give one window of at most 24 hours".to_string(),
                    );
                }
                length
            }
            _ if end > start => end - start,
            _ => end + 1440 - start,
        };
        if minutes == 0 {
            return Err("it ends when it starts".to_string());
        }
        Ok(WeeklyWindow {
            day,
            start,
            minutes,
            zone,
        })
    }

    /// Where the window starts in the week (UTC), read in its own zone or
    /// else in `zone`: one position, or seven for a window of any day.
    pub fn starts(&self, zone: UtcOffset) -> Vec<i64> {
        let zone = self.zone.unwrap_or(zone);
        let days: Vec<usize> = match self.day {
            Some(day) => vec![day],
            None => (0..7).collect(),
        };
        days.into_iter()
            .map(|day| {
                (day as i64 * DAY + i64::from(self.start) * MINUTE - zone.millis()).rem_euclid(WEEK)
            })
            .collect()
    }
}

/// A window as `topoc` proposes it and `window = "..."` takes it back:
/// `Sun 01:00-04:15 UTC`, the end before the start when it runs past
/// midnight.
pub fn describe_window(start: i64, minutes: i64, zone: UtcOffset) -> String {
    let local = (start + zone.millis()).rem_euclid(WEEK);
    let end = (local + minutes * MINUTE).rem_euclid(DAY);
    format!(
        "{} {}-{} {zone}",
        WEEKDAYS[(local / DAY) as usize],
        clock(local % DAY),
        clock(end)
    )
}

/// `HH:MM` of milliseconds into a day.
pub fn clock(ms: i64) -> String {
    let minutes = ms.rem_euclid(DAY) / MINUTE;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// A window's weekday, start and end in a zone (for JSON).
pub fn window_parts(start: i64, minutes: i64, zone: UtcOffset) -> (&'static str, String, String) {
    let local = (start + zone.millis()).rem_euclid(WEEK);
    (
        WEEKDAYS[(local / DAY) as usize],
        clock(local % DAY),
        clock(local + minutes * MINUTE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn weekdays_follow_the_epoch() {
        // 1970-01-01 was a Thursday; 2024-04-29 a Monday.
        assert_eq!(WEEKDAYS[(week_position(0) / DAY) as usize], "Thu");
        let monday = days_from_civil(2024, 4, 29) * DAY;
        assert_eq!(week_position(monday), 0);
        assert_eq!(week_position(monday + 6 * DAY + HOUR), 6 * DAY + HOUR);
        assert_eq!(format_day(monday), "Mon 2024-04-29");
    }

    #[test]
    fn timestamps_are_read_in_both_forms() {
        let monday = days_from_civil(2024, 4, 29) * DAY;
        assert_eq!(parse_timestamp("2024-04-29T00:00:00Z"), Ok(monday));
        assert_eq!(parse_timestamp("2024-04-29 05:30:00+05:30"), Ok(monday));
        assert_eq!(parse_timestamp("2024-04-28T21:00:00-03:00"), Ok(monday));
        assert_eq!(parse_timestamp("2024-04-29T00:00:00.25Z"), Ok(monday + 250));
        assert_eq!(parse_timestamp("2024-04-29T00:00Z"), Ok(monday));
        assert_eq!(parse_timestamp("1714348800"), Ok(monday));
        assert_eq!(parse_timestamp("1714348800.781"), Ok(monday + 781));
        assert_eq!(format_rfc3339(monday + 781), "2024-04-29T00:00:00.781Z");
        for bad in [
            "",
            "yesterday",
            "2024-02-30T00:00:00Z",
            "2024-04-29T25:00:00Z",
            "2024-04-29T00:00:00",
            "2024-04-29",
            "1714348800000",
            "-5",
            "NaN",
            "2024-04-29T00:00:00+25:00",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(UtcOffset::parse("UTC"), Some(UtcOffset::UTC));
        assert_eq!(UtcOffset::parse("gmt"), Some(UtcOffset::UTC));
        assert_eq!(UtcOffset::parse("UTC+05:30").map(|o| o.minutes), Some(330));
        assert_eq!(UtcOffset::parse("+0530").map(|o| o.minutes), Some(330));
        assert_eq!(UtcOffset::parse("UTC-3").map(|o| o.minutes), Some(-180));
        assert_eq!(
            UtcOffset::parse("UTC+05:45").unwrap().to_string(),
            "UTC+05:45"
        );
        assert_eq!(UtcOffset::parse("-03:00").unwrap().to_string(), "UTC-03:00");
        for bad in [
            "",
            "CET",
            "Europe/Dublin",
            "UTC+15",
            "UTC+5:7",
            "+",
            "UTC+05:60",
            "U",
        ] {
            assert_eq!(UtcOffset::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows_are_placed_in_the_week() {
        let w = WeeklyWindow::parse("Sun 01:00-04:00 UTC").unwrap();
        assert_eq!((w.day, w.start, w.minutes), (Some(6), 60, 180));
        assert_eq!(w.starts(UtcOffset::UTC), vec![6 * DAY + HOUR]);
        let w = WeeklyWindow::parse("Sat 23:00 - Sun 02:00 UTC").unwrap();
        assert_eq!((w.day, w.minutes), (Some(5), 180));
        let w = WeeklyWindow::parse("Sat 23:00-02:00").unwrap();
        assert_eq!((w.minutes, w.zone), (180, None));
        let w = WeeklyWindow::parse("Sunday 01:00-04:00 UTC+05:30").unwrap();
        // 01:00 at +05:30 is 19:30 UTC on Saturday.
        assert_eq!(
            w.starts(UtcOffset::UTC),
            vec![5 * DAY + 19 * HOUR + 30 * MINUTE]
        );
        let w = WeeklyWindow::parse("Mon 00:30-01:00 UTC-01:00").unwrap();
        assert_eq!(w.starts(UtcOffset::UTC), vec![HOUR + 30 * MINUTE]);
        assert_eq!(
            WeeklyWindow::parse("Sun 01:00-01:00").unwrap().minutes,
            1440
        );
        let any = WeeklyWindow::parse("02:00-03:00").unwrap();
        assert_eq!(any.starts(UtcOffset::UTC).len(), 7);
        // The topology's zone applies when the window names none.
        let zone = UtcOffset::parse("UTC+01:00").unwrap();
        assert_eq!(
            WeeklyWindow::parse("Mon 00:30-01:00").unwrap().starts(zone),
            vec![WEEK - 30 * MINUTE]
        );
        for bad in [
            "whenever",
            "Sun",
            "Sun 01:00",
            "Sun 01:00-",
            "Sun 01:00-04:00 CEST",
            "01:00 - Sun 04:00",
            "Sun 01:00-Tue 04:00 UTC",
            "Sun 01:00-Sun 01:00",
        ] {
            assert!(WeeklyWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_are_written_back_as_they_are_read() {
        let zone = UtcOffset::parse("UTC+05:30").unwrap();
        let start = 6 * DAY + 20 * HOUR;
        let text = describe_window(start, 195, zone);
        assert_eq!(text, "Mon 01:30-04:45 UTC+05:30");
        let back = WeeklyWindow::parse(&text).unwrap();
        assert_eq!(back.starts(UtcOffset::UTC), vec![start]);
        assert_eq!(back.minutes, 195);
        assert_eq!(
            describe_window(5 * DAY + 23 * HOUR, 180, UtcOffset::UTC),
            "Sat 23:00-02:00 UTC"
        );
        assert_eq!(
            window_parts(5 * DAY + 23 * HOUR, 180, UtcOffset::UTC),
            ("Sat", "23:00".to_string(), "02:00".to_string())
        );
    }
}
