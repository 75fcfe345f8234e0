//! Exact addition and subtraction of [`Number`]s, as `SET a = a + :n` and `ADD a :n` need.
//!
//! DynamoDB computes these exactly (they are decimal, not floating point) and refuses a result
//! it cannot store rather than rounding it: more than 38 significant digits, or a magnitude out
//! of range, is the same error a number of that shape in a request gets. A result both too long
//! and too large is an overflow: DynamoDB checks a number's magnitude before its digit count
//! (the order dynalite's suite, run against DynamoDB, shows for request numbers).

use std::cmp::Ordering;

use crate::number::{Number, NumberError, Sign};

impl Number {
    /// `self + other`, exactly.
    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        add_signed(self, other.sign(), other)
    }

    /// `self - other`, exactly.
    pub fn checked_sub(&self, other: &Number) -> Result<Number, NumberError> {
        add_signed(self, other.negated().sign(), other)
    }
}

/// `a + (sign_b · |b|)`.
fn add_signed(a: &Number, sign_b: Sign, b: &Number) -> Result<Number, NumberError> {
    if b.is_zero() {
        return Ok(*a);
    }
    if a.is_zero() {
        return Ok(if sign_b == b.sign() { *b } else { b.negated() });
    }
    // Both are integers of digits scaled by 10^(exponent - len): align them on the smaller
    // scale. The spread is bounded by the exponent range plus 38 digits (< 300 digits).
    let scale_a = i32::from(a.exponent()) - len_i32(a.digits());
    let scale_b = i32::from(b.exponent()) - len_i32(b.digits());
    let scale = scale_a.min(scale_b);
    let wide_a = widen(a.digits(), scale_a - scale);
    let wide_b = widen(b.digits(), scale_b - scale);
    let width = wide_a.len().max(wide_b.len());
    let wide_a = pad_left(wide_a, width);
    let wide_b = pad_left(wide_b, width);

    let (sign, magnitude) = if a.sign() == sign_b {
        (a.sign(), add_magnitudes(&wide_a, &wide_b))
    } else {
        match wide_a.cmp(&wide_b) {
            Ordering::Equal => return Ok(Number::ZERO),
            Ordering::Greater => (a.sign(), sub_magnitudes(&wide_a, &wide_b)),
            Ordering::Less => (sign_b, sub_magnitudes(&wide_b, &wide_a)),
        }
    };
    normalise(sign, &magnitude, scale)
}

fn len_i32(digits: &[u8]) -> i32 {
    // At most 38 digits by Number's invariant.
    i32::try_from(digits.len()).unwrap_or(i32::MAX)
}

/// The digits followed by `zeros` zeros.
fn widen(digits: &[u8], zeros: i32) -> Vec<u8> {
    let mut out = digits.to_vec();
    out.resize(digits.len() + usize::try_from(zeros).unwrap_or(0), 0);
    out
}

fn pad_left(digits: Vec<u8>, width: usize) -> Vec<u8> {
    let mut out = vec![0; width.saturating_sub(digits.len())];
    out.extend(digits);
    out
}

/// Sum of two equally long digit strings (most significant first), one digit longer.
fn add_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + 1];
    let mut carry = 0u8;
    for (slot, (x, y)) in out.iter_mut().rev().zip(a.iter().rev().zip(b.iter().rev())) {
        let sum = x + y + carry;
        *slot = sum % 10;
        carry = sum / 10;
    }
    if let Some(first) = out.first_mut() {
        *first = carry;
    }
    out
}

/// `a - b` for equally long digit strings with `a > b`.
fn sub_magnitudes(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0u8;
    for (slot, (x, y)) in out.iter_mut().rev().zip(a.iter().rev().zip(b.iter().rev())) {
        let take = y + borrow;
        if *x >= take {
            *slot = x - take;
            borrow = 0;
        } else {
            *slot = x + 10 - take;
            borrow = 1;
        }
    }
    out
}

/// The number `sign · int(digits) · 10^scale`, normalised and range-checked.
fn normalise(sign: Sign, digits: &[u8], scale: i32) -> Result<Number, NumberError> {
    let leading = digits.iter().take_while(|&&d| d == 0).count();
    let significant = digits.get(leading..).unwrap_or_default();
    let trailing = significant.iter().rev().take_while(|&&d| d == 0).count();
    let kept = significant
        .get(..significant.len() - trailing)
        .unwrap_or_default();
    if kept.is_empty() {
        return Ok(Number::ZERO);
    }
    let exponent = scale + len_i32(significant);
    let exponent = i16::try_from(exponent).map_err(|_| {
        if exponent > 0 {
            NumberError::Overflow
        } else {
            NumberError::Underflow
        }
    })?;
    if exponent > crate::number::EXPONENT_MAX {
        return Err(NumberError::Overflow);
    }
    if exponent < crate::number::EXPONENT_MIN {
        return Err(NumberError::Underflow);
    }
    Number::from_parts(sign, exponent, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> Number {
        Number::parse(text).unwrap()
    }

    #[test]
    fn adds_and_subtracts_exactly() {
        let cases = [
            ("0.1", "0.2", "0.3", "-0.1"),
            ("1", "-1", "0", "2"),
            ("999", "1", "1000", "998"),
            ("-5", "3", "-2", "-8"),
            (
                "1E100",
                "1E100",
                "20000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
                "0",
            ),
            ("12.5", "0.005", "12.505", "12.495"),
            ("0", "-7", "-7", "7"),
        ];
        for (a, b, sum, difference) in cases {
            assert_eq!(n(a).checked_add(&n(b)), Ok(n(sum)), "{a} + {b}");
            assert_eq!(n(a).checked_sub(&n(b)), Ok(n(difference)), "{a} - {b}");
        }
    }

    #[test]
    fn refuses_what_cannot_be_stored() {
        let max = n(&format!("9.{}E125", "9".repeat(37)));
        let one_ulp = n("1E88");
        assert_eq!(max.checked_add(&one_ulp), Err(NumberError::Overflow));
        assert_eq!(
            max.negated().checked_sub(&one_ulp),
            Err(NumberError::Overflow)
        );
        // 1E30 + 1E-30 needs 61 significant digits.
        assert_eq!(
            n("1E30").checked_add(&n("1E-30")),
            Err(NumberError::TooManyDigits)
        );
        // 38 nines plus one is 1E38: fine, one significant digit.
        let nines = n(&"9".repeat(38));
        assert_eq!(nines.checked_add(&n("1")), Ok(n("1E38")));
        // Smallest magnitudes cancel to something too small only if it is not zero.
        assert_eq!(
            n("1.1E-130").checked_sub(&n("1E-130")),
            Err(NumberError::Underflow)
        );
        assert_eq!(n("1E-130").checked_sub(&n("1E-130")), Ok(Number::ZERO));
    }
}
