//! Timestamps as the CLI prints them: ISO 8601 in UTC with milliseconds
//! (`2026-11-25T08:40:12.123Z`), the form the AWS CLI prints; and as it reads them: epoch
//! seconds (fractional allowed) or ISO 8601.

use serde_json::{Number, Value};

/// Formats microseconds since the Unix epoch as ISO 8601 UTC with milliseconds.
pub fn iso8601_ms(timestamp_us: u64) -> String {
    let total_ms = timestamp_us / 1_000;
    let ms = total_ms % 1_000;
    let total_s = total_ms / 1_000;
    let (hour, minute, second) = (total_s / 3_600 % 24, total_s / 60 % 60, total_s % 60);
    let days = i64::try_from(total_s / 86_400).unwrap_or(i64::MAX);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{ms:03}Z")
}

/// Epoch seconds as the engine's JSON carries them (a number, fractional allowed) to ISO 8601
/// with milliseconds (rounded to the nearest ms); `None` for a negative or non-finite number.
pub fn iso8601_from_seconds(seconds: &Number) -> Option<String> {
    if let Some(whole) = seconds.as_u64() {
        return whole.checked_mul(1_000_000).map(iso8601_ms);
    }
    let value = seconds.as_f64().filter(|s| s.is_finite() && *s >= 0.0)?;
    // Rounded to ms through its decimal text: no float-to-integer cast.
    let text = format!("{value:.3}");
    let (whole, fraction) = text.split_once('.')?;
    let ms = whole
        .parse::<u64>()
        .ok()?
        .checked_mul(1_000)?
        .checked_add(fraction.parse::<u64>().ok()?)?;
    ms.checked_mul(1_000).map(iso8601_ms)
}

/// A timestamp given on the command line, as the JSON number of epoch seconds the engine
/// takes: epoch seconds (`1764633600`, `1764633600.25`) or ISO 8601 (`2025-12-02`,
/// `2025-12-02T00:00:00Z`, `2025-12-02T01:00:00.5+01:00`; without an offset, UTC).
pub fn parse_timestamp(text: &str) -> Result<Value, String> {
    let text = text.trim();
    let invalid = || {
        format!(
            "invalid timestamp '{text}': expected epoch seconds (e.g. 1764633600.5) or ISO 8601 \
             (e.g. 2025-12-02T00:00:00Z)"
        )
    };
    if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !text.is_empty() {
        if let Ok(whole) = text.parse::<u64>() {
            return Ok(Value::from(whole));
        }
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(invalid);
    }
    let ms = parse_iso8601_ms(text).ok_or_else(invalid)?;
    let (seconds, millis) = (ms.div_euclid(1_000), ms.rem_euclid(1_000));
    if millis == 0 {
        return Ok(Value::from(seconds));
    }
    format!("{seconds}.{millis:03}")
        .parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(invalid)
}

/// ISO 8601 (`YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH[:MM]]`) to ms since the epoch.
fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let digits = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.find(['T', 't', ' ']) {
        Some(at) => (text.get(..at)?, text.get(at + 1..)?),
        None => (text, ""),
    };
    let mut parts = date.split('-');
    let (year, month, day) = (
        digits(parts.next()?)?,
        digits(parts.next()?)?,
        digits(parts.next()?)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&month) || day < 1 || day > days_in(year, month)
    {
        return None;
    }
    let (clock, offset_minutes) = split_offset(time)?;
    let mut ms = 0;
    if !clock.is_empty() {
        let mut fields = clock.split(':');
        let hour = digits(fields.next()?)?;
        let minute = digits(fields.next()?)?;
        let (second, fraction_ms) = match fields.next() {
            None => (0, 0),
            Some(s) => match s.split_once(['.', ',']) {
                None => (digits(s)?, 0),
                Some((whole, fraction)) => {
                    digits(fraction)?;
                    let padded: String = fraction.chars().chain("000".chars()).take(3).collect();
                    (digits(whole)?, digits(&padded)?)
                }
            },
        };
        if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        ms = ((hour * 60 + minute) * 60 + second) * 1_000 + fraction_ms;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400_000 + ms - offset_minutes * 60_000)
}

/// Splits `HH:MM...` from its zone: `Z`, `±HH`, `±HHMM` or `±HH:MM` (minutes east of UTC).
fn split_offset(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = (time.get(..at)?, time.get(at..)?);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone: String = zone.get(1..)?.chars().filter(|c| *c != ':').collect();
    if !zone.bytes().all(|b| b.is_ascii_digit()) || !matches!(zone.len(), 2 | 4) {
        return None;
    }
    let hours: i64 = zone.get(..2)?.parse().ok()?;
    let minutes: i64 = zone
        .get(2..)
        .filter(|m| !m.is_empty())
        .map_or(Some(0), |m| m.parse().ok())?;
    (hours <= 23 && minutes <= 59).then_some((clock, sign * (hours * 60 + minutes)))
}

fn days_in(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// (year, month, day) to days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm, exact for every day this toolkit can store).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(0),
        u32::try_from(day).unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(951_782_400_000_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            iso8601_ms(1_795_595_412_123_456),
            "2026-11-25T08:30:12.123Z"
        );
        assert_eq!(
            iso8601_ms(4_102_444_799_999_000),
            "2099-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn seconds_to_iso() {
        let iso = |v: Value| iso8601_from_seconds(v.as_number().unwrap());
        assert_eq!(
            iso(serde_json::json!(1_764_633_600)).as_deref(),
            Some("2025-12-02T00:00:00.000Z")
        );
        assert_eq!(
            iso(serde_json::json!(1_764_633_600.123)).as_deref(),
            Some("2025-12-02T00:00:00.123Z")
        );
        assert_eq!(
            iso(serde_json::json!(1_764_633_600.999_6)).as_deref(),
            Some("2025-12-02T00:00:01.000Z")
        );
        assert_eq!(iso(serde_json::json!(-1.5)), None);
    }

    #[test]
    fn timestamps_in_every_form() {
        let t = |s: &str| parse_timestamp(s).unwrap();
        assert_eq!(t("1764633600"), serde_json::json!(1_764_633_600));
        assert_eq!(t("1764633600.25"), serde_json::json!(1_764_633_600.25));
        assert_eq!(t("2025-12-02"), serde_json::json!(1_764_633_600));
        assert_eq!(t("2025-12-02T00:00:00Z"), serde_json::json!(1_764_633_600));
        assert_eq!(t("2025-12-02 00:00"), serde_json::json!(1_764_633_600));
        assert_eq!(
            t("2025-12-02T01:00:00.5+01:00"),
            serde_json::json!(1_764_633_600.5)
        );
        assert_eq!(
            t("2025-12-01T19:30:00-0430"),
            serde_json::json!(1_764_633_600)
        );
        assert_eq!(
            t("2000-02-29T00:00:00.123Z"),
            serde_json::json!(951_782_400.123)
        );
        assert_eq!(t("1970-01-01T00:00:00Z"), serde_json::json!(0));
        for bad in [
            "",
            "yesterday",
            "2025-13-01",
            "2025-02-29",
            "2025-12-02T25:00",
            "1.2.3",
            "2025-12-02T00:00+1",
        ] {
            let err = parse_timestamp(bad).unwrap_err();
            assert!(err.starts_with("invalid timestamp"), "{bad}: {err}");
        }
        // Every ISO form round-trips through the printed form.
        let ms = parse_iso8601_ms("2026-11-25T08:30:12.123Z").unwrap();
        assert_eq!(
            iso8601_ms(u64::try_from(ms).unwrap() * 1_000),
            "2026-11-25T08:30:12.123Z"
        );
    }
}
