//! Timestamps as the CLI prints them: ISO 8601 in UTC with milliseconds
//! (`2026-11-25T08:40:12.123Z`), the form the AWS CLI prints.

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
}
