//! Number against an arbitrary-precision reference (bigdecimal): parsing, range and digit
//! rules, canonical form, equality and order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::cmp::Ordering;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use ddb_model::{Number, NumberError};
use proptest::prelude::*;

/// What DynamoDB must say about a decimal, worked out from the reference value alone.
#[derive(Debug, PartialEq)]
enum Expected {
    Ok(BigDecimal),
    Overflow,
    Underflow,
    TooManyDigits,
}

fn reference(text: &str) -> Expected {
    let value = BigDecimal::from_str(text)
        .expect("generated text is a decimal")
        .normalized();
    if value == 0 {
        return Expected::Ok(value);
    }
    let (int, scale) = value.as_bigint_and_exponent();
    let digits = i64::try_from(int.magnitude().to_string().len()).unwrap();
    // value = int × 10^-scale = 0.d₁…dₙ × 10^(digits - scale)
    let exponent = digits - scale;
    if exponent > 126 {
        Expected::Overflow
    } else if exponent < -129 {
        Expected::Underflow
    } else if digits > 38 {
        Expected::TooManyDigits
    } else {
        Expected::Ok(value)
    }
}

fn ours(text: &str) -> Expected {
    match Number::parse(text) {
        Ok(n) => {
            let canonical = n.to_string();
            Expected::Ok(BigDecimal::from_str(&canonical).unwrap().normalized())
        }
        Err(NumberError::Overflow) => Expected::Overflow,
        Err(NumberError::Underflow) => Expected::Underflow,
        Err(NumberError::TooManyDigits) => Expected::TooManyDigits,
        Err(other) => panic!("{text}: unexpected {other}"),
    }
}

/// Decimal text in every syntax DynamoDB accepts: sign, leading zeros, point anywhere,
/// exponents with sign, trailing zeros.
fn decimal_text() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["", "-", "+"]),
        "[0-9]{0,45}",
        prop::option::of("[0-9]{0,45}"),
        prop::option::of((
            prop::sample::select(vec!["e", "E"]),
            prop::sample::select(vec!["", "+", "-"]),
            -140i32..140,
        )),
    )
        .prop_filter("needs a digit", |(_, int, frac, _)| {
            !int.is_empty() || frac.as_ref().is_some_and(|f| !f.is_empty())
        })
        .prop_map(|(sign, int, frac, exp)| {
            let mut s = format!("{sign}{int}");
            if let Some(frac) = frac {
                s.push('.');
                s.push_str(&frac);
            }
            if let Some((e, esign, value)) = exp {
                let value = value.unsigned_abs();
                s.push_str(&format!("{e}{esign}{value}"));
            }
            s
        })
}

/// Numbers inside DynamoDB's range: up to 38 significant digits, and an exponent that keeps
/// `digits × 10^exp` within `1E-130 ..< 1E126` whatever the digit count.
fn valid_number() -> impl Strategy<Value = Number> {
    (any::<bool>(), "[1-9][0-9]{0,37}", -129i32..=88).prop_map(|(neg, digits, exp)| {
        let text = format!("{}{}E{}", if neg { "-" } else { "" }, digits, exp);
        Number::parse(&text).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_agrees_with_reference(text in decimal_text()) {
        prop_assert_eq!(ours(&text), reference(&text), "input {}", text);
    }

    #[test]
    fn canonical_form_is_a_fixed_point(text in decimal_text()) {
        if let Ok(n) = Number::parse(&text) {
            let canonical = n.to_string();
            let again = Number::parse(&canonical).unwrap();
            prop_assert_eq!(again, n);
            prop_assert_eq!(again.to_string(), canonical.clone());
            // No exponent, no leading zero before a non-zero integer part, no trailing zeros
            // after a point, no negative zero.
            prop_assert!(!canonical.contains(['e', 'E', '+']));
            prop_assert!(canonical != "-0");
            if canonical.contains('.') {
                prop_assert!(!canonical.ends_with('0') && !canonical.ends_with('.'));
            }
            let unsigned = canonical.trim_start_matches('-');
            prop_assert!(unsigned == "0" || !unsigned.starts_with('0') || unsigned.starts_with("0."));
        }
    }

    #[test]
    fn order_and_equality_agree_with_reference(a in valid_number(), b in valid_number()) {
        let ra = BigDecimal::from_str(&a.to_string()).unwrap();
        let rb = BigDecimal::from_str(&b.to_string()).unwrap();
        prop_assert_eq!(a.cmp(&b), ra.cmp(&rb));
        prop_assert_eq!(a == b, ra == rb);
        prop_assert_eq!(a.negated().cmp(&b.negated()), b.cmp(&a));
    }

    #[test]
    fn equal_values_in_different_spellings_are_equal(n in valid_number(), pad in 0usize..5, shift in -3i32..3) {
        // Re-spell n as digits × 10^k with extra zeros: numerically the same value.
        let canonical = n.to_string();
        let (sign, unsigned) = canonical.strip_prefix('-').map_or(("", canonical.as_str()), |u| ("-", u));
        let respelled = format!("{sign}00{unsigned}{}E0", if unsigned.contains('.') { "0".repeat(pad) } else { String::new() });
        prop_assert_eq!(Number::parse(&respelled).unwrap(), n);
        let shifted = format!("{sign}{unsigned}E{shift}");
        let back = Number::parse(&shifted).ok().map(|s| s.to_string()).and_then(|s| Number::parse(&format!("{s}E{}", -shift)).ok());
        if let Some(back) = back {
            prop_assert_eq!(back, n);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,60}") {
        let _ = Number::parse(&text);
    }
}

#[test]
fn ordering_is_total_and_consistent_on_a_spread_of_values() {
    let texts = [
        "-9.9E125", "-1E10", "-1", "-1E-130", "0", "1E-130", "0.5", "1", "1.5", "1E10", "9.9E125",
    ];
    let numbers: Vec<Number> = texts.iter().map(|t| Number::parse(t).unwrap()).collect();
    for (i, a) in numbers.iter().enumerate() {
        for (j, b) in numbers.iter().enumerate() {
            assert_eq!(a.cmp(b), i.cmp(&j), "{a} vs {b}");
            assert_eq!(a.cmp(b) == Ordering::Equal, a == b);
        }
    }
}
