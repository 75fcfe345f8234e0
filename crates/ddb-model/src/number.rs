//! DynamoDB numbers: exact decimals with up to 38 significant digits and a magnitude in
//! `1E-130 ..< 1E126` (or zero), compared numerically without floating point.
//!
//! A [`Number`] is held normalised, as sign, significant digits (no leading or trailing zeros)
//! and a decimal exponent: `value = ±0.d₁d₂…dₙ × 10^exponent` with `d₁ ≠ 0` and `dₙ ≠ 0`.
//! Zero has no digits. Because the form is unique, derived equality and hashing are numeric
//! equality (`1.0 == 1 == 1E0`, `-0 == 0`), and the canonical string is a pure function of the
//! value.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::error::DdbError;

/// Most significant digits a number may have.
pub const DIGITS_MAX: usize = 38;
/// Smallest exponent (in `0.d × 10^e` form) of a non-zero number: `1E-130 = 0.1 × 10^-129`.
pub const EXPONENT_MIN: i16 = -129;
/// Largest exponent (in `0.d × 10^e` form): `9.99…E125 = 0.999… × 10^126`.
pub const EXPONENT_MAX: i16 = 126;

/// Why a string is not a DynamoDB number. `Display` gives DynamoDB's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NumberError {
    #[error("The parameter cannot be converted to a numeric value")]
    Empty,
    #[error("The parameter cannot be converted to a numeric value: {0}")]
    NotNumeric(String),
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    #[error(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )]
    Underflow,
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
}

impl From<NumberError> for DdbError {
    fn from(err: NumberError) -> Self {
        DdbError::validation(err.to_string())
    }
}

/// The sign of a number; zero is its own class so that `-0` cannot exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sign {
    Negative,
    Zero,
    Positive,
}

/// An exact DynamoDB number. See the module documentation for the representation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Number {
    sign: Sign,
    /// Count of significant digits in `digits`; 0 iff the number is zero.
    len: u8,
    /// `value = ±0.d₁…dₙ × 10^exponent`; 0 for zero.
    exponent: i16,
    /// Digit values 0–9; entries at and past `len` are always 0 so derived `Eq`/`Hash` hold.
    digits: [u8; DIGITS_MAX],
}

impl Number {
    pub const ZERO: Number = Number {
        sign: Sign::Zero,
        len: 0,
        exponent: 0,
        digits: [0; DIGITS_MAX],
    };

    /// Parses DynamoDB's number syntax: an optional sign, digits with at most one decimal point
    /// (at least one digit in all), and an optional exponent `e`/`E` with optional sign.
    pub fn parse(text: &str) -> Result<Number, NumberError> {
        if text.is_empty() {
            return Err(NumberError::Empty);
        }
        let not_numeric = || NumberError::NotNumeric(text.to_owned());
        let bytes = text.as_bytes();
        let (negative, rest) = match bytes.first() {
            Some(b'-') => (true, bytes.get(1..).unwrap_or_default()),
            Some(b'+') => (false, bytes.get(1..).unwrap_or_default()),
            _ => (false, bytes),
        };
        let mantissa_len = rest
            .iter()
            .position(|b| matches!(b, b'e' | b'E'))
            .unwrap_or(rest.len());
        let (mantissa, exponent_part) = rest.split_at(mantissa_len);

        // Scan the mantissa once: find the significant digits and where the point falls.
        let mut seen_point = false;
        let mut digit_count = 0usize;
        // Digits before the point, counting leading zeros (i64: inputs are bounded by memory).
        let mut integer_digits: i64 = 0;
        let mut first_nonzero: Option<i64> = None; // index among all mantissa digits
        let mut last_nonzero: i64 = 0;
        for &b in mantissa {
            match b {
                b'.' if !seen_point => seen_point = true,
                b'0'..=b'9' => {
                    let index = i64::try_from(digit_count).map_err(|_| not_numeric())?;
                    if b != b'0' {
                        first_nonzero.get_or_insert(index);
                        last_nonzero = index;
                    }
                    digit_count += 1;
                    if !seen_point {
                        integer_digits += 1;
                    }
                }
                _ => return Err(not_numeric()),
            }
        }
        if digit_count == 0 {
            return Err(not_numeric());
        }
        let exponent_value = match exponent_part.split_first() {
            None => 0,
            Some((_, digits)) => parse_exponent(digits).ok_or_else(not_numeric)?,
        };
        let Some(first) = first_nonzero else {
            return Ok(Number::ZERO);
        };

        // value = 0.(digits from `first`) × 10^(integer_digits - first + exponent)
        let exponent = integer_digits
            .saturating_sub(first)
            .saturating_add(exponent_value);
        if exponent > i64::from(EXPONENT_MAX) {
            return Err(NumberError::Overflow);
        }
        if exponent < i64::from(EXPONENT_MIN) {
            return Err(NumberError::Underflow);
        }
        let significant = last_nonzero - first + 1;
        if usize::try_from(significant).map_or(true, |n| n > DIGITS_MAX) {
            return Err(NumberError::TooManyDigits);
        }

        let mut digits = [0u8; DIGITS_MAX];
        let mut len = 0usize;
        let mut index = 0i64;
        for &b in mantissa {
            if b == b'.' {
                continue;
            }
            if index >= first && index <= last_nonzero {
                let slot = digits.get_mut(len).ok_or(NumberError::TooManyDigits)?;
                *slot = b - b'0';
                len += 1;
            }
            index += 1;
        }
        Number::from_parts(
            if negative {
                Sign::Negative
            } else {
                Sign::Positive
            },
            i16::try_from(exponent).map_err(|_| NumberError::Overflow)?,
            digits.get(..len).unwrap_or_default(),
        )
    }

    /// Builds a number from its normalised parts, checking every invariant: digits 0–9, no
    /// leading or trailing zero, at most 38 of them, exponent in range, and zero iff no digits.
    pub fn from_parts(sign: Sign, exponent: i16, digits: &[u8]) -> Result<Number, NumberError> {
        let describe = || {
            NumberError::NotNumeric(format!(
                "sign {sign:?}, exponent {exponent}, digits {digits:?}"
            ))
        };
        if sign == Sign::Zero {
            return if digits.is_empty() && exponent == 0 {
                Ok(Number::ZERO)
            } else {
                Err(describe())
            };
        }
        if digits.len() > DIGITS_MAX {
            return Err(NumberError::TooManyDigits);
        }
        let (Some(&first), Some(&last)) = (digits.first(), digits.last()) else {
            return Err(describe());
        };
        if first == 0 || last == 0 || digits.iter().any(|&d| d > 9) {
            return Err(describe());
        }
        if exponent > EXPONENT_MAX {
            return Err(NumberError::Overflow);
        }
        if exponent < EXPONENT_MIN {
            return Err(NumberError::Underflow);
        }
        let mut stored = [0u8; DIGITS_MAX];
        stored
            .get_mut(..digits.len())
            .ok_or(NumberError::TooManyDigits)?
            .copy_from_slice(digits);
        let len = u8::try_from(digits.len()).map_err(|_| NumberError::TooManyDigits)?;
        Ok(Number {
            sign,
            len,
            exponent,
            digits: stored,
        })
    }

    pub fn sign(&self) -> Sign {
        self.sign
    }

    pub fn is_zero(&self) -> bool {
        self.sign == Sign::Zero
    }

    /// The exponent `e` of `±0.d₁…dₙ × 10^e` (0 for zero).
    pub fn exponent(&self) -> i16 {
        self.exponent
    }

    /// The significant digits as values 0–9 (empty for zero).
    pub fn digits(&self) -> &[u8] {
        self.digits.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Count of significant digits (0 for zero).
    pub fn significant_digits(&self) -> usize {
        usize::from(self.len)
    }

    /// Bytes this number counts for in DynamoDB's item size: one byte per two significant digits
    /// plus one (DynamoDB documents the size as "approximately" this).
    pub fn size_bytes(&self) -> usize {
        self.significant_digits().div_ceil(2) + 1
    }

    /// The value negated.
    #[must_use]
    pub fn negated(&self) -> Number {
        let sign = match self.sign {
            Sign::Negative => Sign::Positive,
            Sign::Zero => Sign::Zero,
            Sign::Positive => Sign::Negative,
        };
        Number { sign, ..*self }
    }

    /// The value as an `i64` if it is an integer in range.
    pub fn to_i64(&self) -> Option<i64> {
        if self.is_zero() {
            return Some(0);
        }
        if self.exponent < i16::from(self.len) || self.exponent > 19 {
            return None;
        }
        let mut magnitude: i128 = 0;
        for &d in self.digits() {
            magnitude = magnitude * 10 + i128::from(d);
        }
        for _ in 0..(self.exponent - i16::from(self.len)) {
            magnitude *= 10;
        }
        let value = if self.sign == Sign::Negative {
            -magnitude
        } else {
            magnitude
        };
        i64::try_from(value).ok()
    }

    /// Compares magnitudes (absolute values).
    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        // Non-zero magnitudes in 0.d form: a larger exponent is a larger number; with equal
        // exponents the digit strings compare lexicographically (a missing digit is a 0, and
        // trailing digits are never 0, so the shorter prefix is the smaller).
        self.exponent
            .cmp(&other.exponent)
            .then_with(|| self.digits().cmp(other.digits()))
    }
}

/// Parses the digits of an exponent (after `e`), saturating far outside the representable
/// range so that `1E99999999999999999999` is an overflow, not an error of a different kind.
fn parse_exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        // Anything beyond ±10^12 is out of range either way; saturating keeps the sign right.
        value = value
            .saturating_mul(10)
            .saturating_add(i64::from(b - b'0'))
            .min(1_000_000_000_000);
    }
    Some(if negative { -value } else { value })
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        match self.sign.cmp(&other.sign) {
            Ordering::Equal => match self.sign {
                Sign::Zero => Ordering::Equal,
                Sign::Positive => self.cmp_magnitude(other),
                Sign::Negative => other.cmp_magnitude(self),
            },
            unequal => unequal,
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Number {
    type Err = NumberError;

    fn from_str(s: &str) -> Result<Number, NumberError> {
        Number::parse(s)
    }
}

/// The canonical form: plain decimal notation, no exponent, no leading or trailing zeros, `-`
/// only for negative numbers (`"001.500"` → `"1.5"`, `"1E2"` → `"100"`, `"-0"` → `"0"`).
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write;
        if self.is_zero() {
            return f.write_char('0');
        }
        if self.sign == Sign::Negative {
            f.write_char('-')?;
        }
        let digits = self.digits();
        let exponent = i64::from(self.exponent);
        let len = i64::from(self.len);
        let digit = |d: &u8| char::from(b'0' + d);
        if exponent <= 0 {
            f.write_str("0.")?;
            for _ in 0..-exponent {
                f.write_char('0')?;
            }
            digits.iter().try_for_each(|d| f.write_char(digit(d)))
        } else if exponent >= len {
            digits.iter().try_for_each(|d| f.write_char(digit(d)))?;
            (0..exponent - len).try_for_each(|_| f.write_char('0'))
        } else {
            for (i, d) in digits.iter().enumerate() {
                if i64::try_from(i) == Ok(exponent) {
                    f.write_char('.')?;
                }
                f.write_char(digit(d))?;
            }
            Ok(())
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({self})")
    }
}

macro_rules! number_from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Number {
            fn from(value: $t) -> Number {
                // At most 20 digits and no fraction: always in range, so parsing cannot fail.
                Number::parse(&value.to_string()).unwrap_or(Number::ZERO)
            }
        }
    )*};
}
number_from_integer!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize);

impl serde::Serialize for Number {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Number {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Number, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Number::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        Number::parse(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .to_string()
    }

    #[test]
    fn normalises_to_plain_decimal() {
        let cases = [
            ("0", "0"),
            ("-0", "0"),
            ("+0.000", "0"),
            ("0E999999999999", "0"),
            ("001.500", "1.5"),
            ("1E2", "100"),
            ("1e+2", "100"),
            ("1.0", "1"),
            ("-1.0e0", "-1"),
            (".5", "0.5"),
            ("5.", "5"),
            ("123.456", "123.456"),
            ("-0.000123", "-0.000123"),
            ("12.5E-3", "0.0125"),
            ("1234E-2", "12.34"),
            ("+7", "7"),
            ("100", "100"),
            ("10.010", "10.01"),
        ];
        for (input, want) in cases {
            assert_eq!(canon(input), want, "input {input}");
        }
    }

    #[test]
    fn range_limits_are_exact() {
        assert_eq!(canon("1E-130"), format!("0.{}1", "0".repeat(129)));
        assert_eq!(canon("-1E-130"), format!("-0.{}1", "0".repeat(129)));
        let max = format!("9.{}E125", "9".repeat(37));
        assert_eq!(canon(&max).len(), 126);
        assert_eq!(Number::parse("1E126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("-1E126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("9.9E-131"), Err(NumberError::Underflow));
        assert_eq!(Number::parse("1E-131"), Err(NumberError::Underflow));
        assert_eq!(
            Number::parse("1E99999999999999999999999"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            Number::parse("1E-99999999999999999999999"),
            Err(NumberError::Underflow)
        );
    }

    #[test]
    fn thirty_eight_significant_digits() {
        let ok = "1".repeat(38);
        assert_eq!(canon(&ok), ok);
        // Leading and trailing zeros are not significant.
        assert_eq!(canon(&format!("000{ok}000")), format!("{ok}000"));
        assert_eq!(canon(&format!("0.{ok}000")), format!("0.{ok}"));
        assert_eq!(
            Number::parse(&"1".repeat(39)),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            Number::parse(&format!("1{}1", "0".repeat(37))),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            Number::parse(&format!("1.{}", "1".repeat(38))).map_err(|e| e.to_string()),
            Err("Attempting to store more than 38 significant digits in a Number".to_owned())
        );
    }

    #[test]
    fn rejects_what_is_not_a_number() {
        for bad in [
            "", "-", "+", ".", "e5", "1e", "1e+", "1..2", "1.2.3", "abc", " 1", "1 ", "0x10",
            "NaN", "Infinity", "1,5", "--1", "+-1", "1e1.5", "١",
        ] {
            let err = Number::parse(bad).expect_err(bad);
            let message = err.to_string();
            assert!(
                message.starts_with("The parameter cannot be converted to a numeric value"),
                "{bad}: {message}"
            );
        }
        assert_eq!(
            Number::parse("abc").map_err(|e| DdbError::from(e).to_string()),
            Err(
                "ValidationException: The parameter cannot be converted to a numeric value: abc"
                    .to_owned()
            )
        );
    }

    #[test]
    fn numeric_equality_and_order() {
        let n = |s: &str| Number::parse(s).unwrap();
        assert_eq!(n("1"), n("1.000"));
        assert_eq!(n("100"), n("1E2"));
        assert_eq!(n("-0"), n("0"));
        let ascending = [
            "-1E125", "-100", "-99.5", "-1", "-0.5", "-1E-130", "0", "1E-130", "0.001", "0.5", "1",
            "1.5", "9", "10", "10.5", "99.5", "100", "9.9E125",
        ];
        for pair in ascending.windows(2) {
            assert!(n(pair[0]) < n(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(n(pair[1]) > n(pair[0]), "{} > {}", pair[1], pair[0]);
        }
    }

    #[test]
    fn from_parts_checks_invariants() {
        assert!(Number::from_parts(Sign::Positive, 1, &[1, 5]).is_ok());
        assert!(Number::from_parts(Sign::Positive, 1, &[]).is_err());
        assert!(Number::from_parts(Sign::Positive, 1, &[0, 5]).is_err());
        assert!(Number::from_parts(Sign::Positive, 1, &[5, 0]).is_err());
        assert!(Number::from_parts(Sign::Positive, 1, &[10]).is_err());
        assert!(Number::from_parts(Sign::Zero, 1, &[]).is_err());
        assert_eq!(
            Number::from_parts(Sign::Positive, 127, &[1]),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            Number::from_parts(Sign::Negative, -130, &[1]),
            Err(NumberError::Underflow)
        );
    }

    #[test]
    fn integers_convert_exactly() {
        assert_eq!(Number::from(0i64).to_string(), "0");
        assert_eq!(Number::from(-42i32).to_string(), "-42");
        assert_eq!(Number::from(i64::MIN).to_string(), i64::MIN.to_string());
        assert_eq!(Number::from(u64::MAX).to_string(), u64::MAX.to_string());
        for v in [0i64, 1, -1, 10, 100, 12345, i64::MAX, i64::MIN] {
            assert_eq!(Number::from(v).to_i64(), Some(v));
        }
        assert_eq!(Number::parse("1.5").unwrap().to_i64(), None);
        assert_eq!(Number::parse("1E30").unwrap().to_i64(), None);
    }

    #[test]
    fn size_counts_significant_digits() {
        assert_eq!(Number::parse("0").unwrap().size_bytes(), 1);
        assert_eq!(Number::parse("1").unwrap().size_bytes(), 2);
        assert_eq!(Number::parse("12").unwrap().size_bytes(), 2);
        assert_eq!(Number::parse("123").unwrap().size_bytes(), 3);
        assert_eq!(Number::parse("1000000").unwrap().size_bytes(), 2);
        assert_eq!(Number::parse(&"9".repeat(38)).unwrap().size_bytes(), 20);
    }
}
