//! Exact amounts of US dollars.
//!
//! [`Usd`] wraps a [`rust_decimal::Decimal`], so sums of many small costs stay exact. In JSON
//! it is written as a plain number with exactly the digits of the decimal (`0.005615`, never
//! `0.0056150000000000005`), and it reads numbers or decimal strings.
//!
//! Stores that need an integer column use [`Usd::to_pico`]: one pico-dollar is 1e-12 USD,
//! fine enough to hold every per-token rate with up to six decimals per million tokens.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Sub};
use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of decimal places kept by [`Usd::to_pico`].
pub const PICO_SCALE: u32 = 12;

/// Errors from reading an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not a decimal number.
    #[error("invalid amount {0:?}: expected a decimal number such as 0.0125")]
    Invalid(String),
    /// The number is NaN or infinite.
    #[error("amount {0} is not a finite number")]
    NotFinite(String),
    /// The number has more digits than a 96-bit decimal holds.
    #[error(
        "amount {0} is out of range: expected a magnitude below 7.9e28 with at most 28 \
         decimal places"
    )]
    OutOfRange(String),
}

/// An exact amount of US dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Usd(Decimal);

/// Maximum number of significant digits that every decimal keeps through an `f64` and back.
const MAX_EXACT_DIGITS: u32 = 15;

impl Usd {
    /// Converts the amount into a `serde_json::Value` that keeps every digit: a JSON number
    /// parsed from the decimal's own digits, or a decimal string (which the collector
    /// accepts for `costUsd`) when it has more than 15 significant digits.
    ///
    /// `serde_json::Value` stores a fraction as an `f64` (the workspace does not enable
    /// `arbitrary_precision`), so `serde_json::to_value` of such an amount would drop its
    /// last digits.
    pub fn to_json_value(self) -> serde_json::Value {
        let text = self.to_string();
        if self.significant_digits() > MAX_EXACT_DIGITS {
            return serde_json::Value::String(text);
        }
        match text.parse::<serde_json::Number>() {
            Ok(number) => serde_json::Value::Number(number),
            Err(_) => serde_json::Value::String(text),
        }
    }

    /// Returns the number of digits in the amount's mantissa, trailing zeros included.
    fn significant_digits(self) -> u32 {
        self.as_decimal()
            .mantissa()
            .unsigned_abs()
            .checked_ilog10()
            .map_or(1, |log| log + 1)
    }

    /// Zero dollars.
    pub const ZERO: Usd = Usd(Decimal::ZERO);

    /// Creates an amount from a decimal.
    pub fn new(amount: Decimal) -> Self {
        Usd(amount.normalize())
    }

    /// Returns the amount as a decimal.
    pub fn as_decimal(&self) -> Decimal {
        self.0
    }

    /// Returns the cost of `tokens` tokens at `rate_per_million` dollars per million tokens.
    ///
    /// The product is exact: a `Decimal` keeps 28 significant digits, far more than any
    /// token count times any listed rate needs.
    pub fn per_million(rate_per_million: Decimal, tokens: u64) -> Self {
        let amount = rate_per_million * Decimal::from(tokens) / Decimal::from(1_000_000u32);
        Usd::new(amount)
    }

    /// Returns the cost of `count` units at `rate_per_thousand` dollars per thousand units.
    pub fn per_thousand(rate_per_thousand: Decimal, count: u64) -> Self {
        Usd::new(rate_per_thousand * Decimal::from(count) / Decimal::from(1_000u32))
    }

    /// Creates an amount from a whole number of pico-dollars (1e-12 USD).
    pub fn from_pico(pico: i64) -> Self {
        Usd::new(Decimal::from_i128_with_scale(i128::from(pico), PICO_SCALE))
    }

    /// Creates an amount from a count of pico-dollars held in an `i128`, as sums of
    /// stored amounts are.
    ///
    /// Returns `None` when the sum does not fit a decimal (more than 28 digits).
    pub fn from_pico_i128(pico: i128) -> Option<Self> {
        Decimal::try_from_i128_with_scale(pico, PICO_SCALE)
            .ok()
            .map(Usd::new)
    }

    /// Returns the amount in pico-dollars, rounded half to even at the 12th decimal.
    ///
    /// Returns `None` when the amount exceeds about 9.2 million dollars, the range of an
    /// `i64` in pico-dollars.
    pub fn to_pico(&self) -> Option<i64> {
        let rounded = self
            .0
            .round_dp_with_strategy(PICO_SCALE, RoundingStrategy::MidpointNearestEven);
        (rounded * Decimal::from(1_000_000_000_000i64)).to_i64()
    }

    /// Reads an amount from a JSON number without passing through binary floating point
    /// arithmetic.
    ///
    /// Integers convert exactly. A fractional number arrives from the JSON parser as an
    /// `f64`; it is converted through its shortest round-trip decimal text, which is the
    /// text the client wrote whenever that text had 17 or fewer significant digits.
    ///
    /// # Errors
    ///
    /// Returns [`MoneyError`] when the number cannot be represented.
    pub fn from_json_number(number: &serde_json::Number) -> Result<Self, MoneyError> {
        if let Some(value) = number.as_i64() {
            return Ok(Usd(Decimal::from(value)));
        }
        if let Some(value) = number.as_u64() {
            return Ok(Usd(Decimal::from(value)));
        }
        let value = number
            .as_f64()
            .ok_or_else(|| MoneyError::Invalid(number.to_string()))?;
        Usd::from_f64_text(value)
    }

    /// Reads an amount from an `f64` through its shortest round-trip decimal text.
    ///
    /// # Errors
    ///
    /// Returns [`MoneyError::NotFinite`] for NaN and infinities, and
    /// [`MoneyError::OutOfRange`], with the value in scientific notation, for values that
    /// no 96-bit decimal holds.
    pub fn from_f64_text(value: f64) -> Result<Self, MoneyError> {
        if !value.is_finite() {
            return Err(MoneyError::NotFinite(value.to_string()));
        }
        // `Display` for f64 prints the shortest text that parses back to the same value,
        // without an exponent. That text is a valid decimal, so a failure to parse it means
        // too many digits, and because the text of 1e300 has 301 of them, errors use `{:e}`.
        value
            .to_string()
            .parse()
            .map_err(|_| MoneyError::OutOfRange(format!("{value:e}")))
    }

    /// Returns true when the amount is below zero.
    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl FromStr for Usd {
    type Err = MoneyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        // rust_decimal skips `_` as a digit separator, but `1_000` is no decimal number
        // in JSON or in any SDK that sends amounts as strings.
        if trimmed.contains('_') {
            return Err(MoneyError::Invalid(text.into()));
        }
        let parsed = if trimmed.contains(['e', 'E']) {
            Decimal::from_scientific(trimmed)
        } else {
            Decimal::from_str_exact(trimmed)
        };
        match parsed {
            Ok(amount) => Ok(Usd::new(amount)),
            Err(rust_decimal::Error::ExceedsMaximumPossibleValue)
            | Err(rust_decimal::Error::LessThanMinimumPossibleValue)
            | Err(rust_decimal::Error::Underflow) => Err(MoneyError::OutOfRange(text.into())),
            // rust_decimal reports too many digits as a plain parse error.
            Err(_) if is_decimal_syntax(trimmed) => Err(MoneyError::OutOfRange(text.into())),
            Err(_) => Err(MoneyError::Invalid(text.into())),
        }
    }
}

/// Returns true when `text` is spelled as a decimal number: an optional sign, digits with
/// at most one point, and an optional exponent.
fn is_decimal_syntax(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty())
        }
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    mantissa_ok && exponent_ok
}

impl fmt::Display for Usd {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if formatter.precision().is_some() {
            return fmt::Display::fmt(&self.0.normalize(), formatter);
        }
        let mut buffer = [0u8; PLAIN_TEXT_LEN];
        let text = plain_text(self.0, &mut buffer);
        formatter.pad_integral(self.0.is_zero() || self.0.is_sign_positive(), "", text)
    }
}

/// Maximum length of the text [`plain_text`] writes: 29 digits, a leading `0` and the point.
const PLAIN_TEXT_LEN: usize = 32;

/// Writes the magnitude of `value` without trailing fractional zeros, as
/// `Decimal::normalize` followed by `Display` writes it, and returns the text.
///
/// Reports write thousands of amounts. This takes the digits from the 128-bit mantissa,
/// mostly in 64-bit steps, where `rust_decimal` divides its 96-bit form once per digit.
fn plain_text(value: Decimal, buffer: &mut [u8; PLAIN_TEXT_LEN]) -> &str {
    let mut mantissa = value.mantissa().unsigned_abs();
    let mut scale = value.scale();
    while scale > 0 {
        let (rest, digit) = split_last_digit(mantissa);
        if digit != 0 {
            break;
        }
        mantissa = rest;
        scale -= 1;
    }
    let mut start = buffer.len();
    let mut written = 0;
    loop {
        if scale > 0 && written == scale {
            start -= 1;
            buffer[start] = b'.';
        }
        let (rest, digit) = split_last_digit(mantissa);
        start -= 1;
        buffer[start] = b'0' + digit;
        mantissa = rest;
        written += 1;
        if mantissa == 0 && written > scale {
            break;
        }
    }
    std::str::from_utf8(&buffer[start..]).expect("digits and a point are ASCII")
}

/// Splits `value` into its value divided by ten and its last decimal digit.
fn split_last_digit(value: u128) -> (u128, u8) {
    match u64::try_from(value) {
        Ok(small) => (u128::from(small / 10), (small % 10) as u8),
        Err(_) => (value / 10, (value % 10) as u8),
    }
}

impl Add for Usd {
    type Output = Usd;

    fn add(self, other: Usd) -> Usd {
        Usd(self.0 + other.0)
    }
}

impl AddAssign for Usd {
    fn add_assign(&mut self, other: Usd) {
        self.0 += other.0;
    }
}

impl Sub for Usd {
    type Output = Usd;

    fn sub(self, other: Usd) -> Usd {
        Usd(self.0 - other.0)
    }
}

impl Sum for Usd {
    fn sum<I: Iterator<Item = Usd>>(iter: I) -> Usd {
        iter.fold(Usd::ZERO, |total, amount| total + amount)
    }
}

impl<'a> Sum<&'a Usd> for Usd {
    fn sum<I: Iterator<Item = &'a Usd>>(iter: I) -> Usd {
        iter.copied().sum()
    }
}

impl Serialize for Usd {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // A raw JSON number keeps every digit of the decimal; going through f64 would not.
        let text = self.to_string();
        let raw =
            serde_json::value::RawValue::from_string(text).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Usd {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UsdVisitor)
    }
}

struct UsdVisitor;

impl Visitor<'_> for UsdVisitor {
    type Value = Usd;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a decimal amount of US dollars")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Usd, E> {
        Ok(Usd(Decimal::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Usd, E> {
        Ok(Usd(Decimal::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Usd, E> {
        Usd::from_f64_text(value).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Usd, E> {
        value.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Returns the text that `rust_decimal` writes for `value` after `normalize`.
    fn decimal_text(value: Decimal, spec: &str) -> String {
        let value = value.normalize();
        match spec {
            "" => format!("{value}"),
            "width" => format!("{value:>40}"),
            "sign" => format!("{value:+}"),
            _ => format!("{value:.3}"),
        }
    }

    /// Returns the text that [`Usd`] writes for `value`.
    fn usd_text(value: Decimal, spec: &str) -> String {
        let value = Usd(value);
        match spec {
            "" => format!("{value}"),
            "width" => format!("{value:>40}"),
            "sign" => format!("{value:+}"),
            _ => format!("{value:.3}"),
        }
    }

    #[test]
    fn display_matches_normalized_decimal_at_the_edges() {
        let mantissas = [
            0_i128,
            1,
            -1,
            5,
            10,
            -100,
            1_000_000_000_000,
            18_446_744_073_709_551_615,
            18_446_744_073_709_551_616,
            -18_446_744_073_709_551_620,
            79_228_162_514_264_337_593_543_950_335,
            -79_228_162_514_264_337_593_543_950_330,
        ];
        for mantissa in mantissas {
            for scale in 0..=28 {
                let value = Decimal::from_i128_with_scale(mantissa, scale);
                for spec in ["", "width", "sign"] {
                    assert_eq!(
                        usd_text(value, spec),
                        decimal_text(value, spec),
                        "{mantissa} at scale {scale}, {spec:?}"
                    );
                }
            }
        }
        let negative_zero = Decimal::from_i128_with_scale(0, 5) * Decimal::NEGATIVE_ONE;
        assert_eq!(usd_text(negative_zero, ""), "0");
        let rounded = Decimal::from_i128_with_scale(-123_456, 5);
        assert_eq!(
            usd_text(rounded, "precision"),
            decimal_text(rounded, "precision")
        );
    }

    proptest::proptest! {
        #[test]
        fn display_matches_normalized_decimal(
            mantissa in -79_228_162_514_264_337_593_543_950_335_i128
                ..=79_228_162_514_264_337_593_543_950_335,
            scale in 0_u32..=28,
        ) {
            let value = Decimal::from_i128_with_scale(mantissa, scale);
            for spec in ["", "width", "sign"] {
                proptest::prop_assert_eq!(usd_text(value, spec), decimal_text(value, spec));
            }
        }
    }

    #[test]
    fn json_output_keeps_exact_digits() {
        let amount: Usd = "0.005615".parse().unwrap();
        assert_eq!(serde_json::to_string(&amount).unwrap(), "0.005615");
    }

    #[test]
    fn float_input_reads_as_written() {
        let amount: Usd = serde_json::from_str("0.0075").unwrap();
        assert_eq!(amount.to_string(), "0.0075");
        let sum: Usd = [amount; 3].iter().sum();
        assert_eq!(sum.to_string(), "0.0225");
    }

    #[test]
    fn digit_separators_are_rejected() {
        for text in ["1_000", "0.000_5", "_1"] {
            assert!(
                matches!(text.parse::<Usd>(), Err(MoneyError::Invalid(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn sum_of_tenths_is_exact() {
        let tenth: Usd = "0.1".parse().unwrap();
        let total: Usd = std::iter::repeat_n(tenth, 10).sum();
        assert_eq!(total, "1".parse().unwrap());
    }

    #[test]
    fn pico_round_trip() {
        let amount: Usd = "0.000000000125".parse().unwrap();
        assert_eq!(amount.to_pico(), Some(125));
        assert_eq!(Usd::from_pico(125), amount);
    }

    #[test]
    fn per_million_is_exact() {
        let rate: Decimal = "2.5".parse().unwrap();
        assert_eq!(Usd::per_million(rate, 86).to_string(), "0.000215");
    }

    #[test]
    fn scientific_text_parses() {
        let amount: Usd = "1.5e-7".parse().unwrap();
        assert_eq!(amount.to_string(), "0.00000015");
    }

    #[test]
    fn out_of_range_float_prints_short() {
        for (value, shown) in [(1e300, "amount 1e300 "), (1e-300, "amount 1e-300 ")] {
            let message = Usd::from_f64_text(value).unwrap_err().to_string();

            assert!(message.starts_with(shown), "{message}");
            assert!(message.len() < 120, "{message}");
        }
    }

    #[test]
    fn garbage_text_is_rejected() {
        assert!(matches!("abc".parse::<Usd>(), Err(MoneyError::Invalid(_))));
    }

    #[test]
    fn too_many_digits_are_out_of_range() {
        for text in ["99999999999999999999999999999999999", "1e400", "-1e400"] {
            assert!(
                matches!(text.parse::<Usd>(), Err(MoneyError::OutOfRange(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_decimals_stay_invalid() {
        for text in ["0.1.0", "", ".", "1e", "1e+", "--1", "1.5x", "e5"] {
            assert!(
                matches!(text.parse::<Usd>(), Err(MoneyError::Invalid(_))),
                "{text}"
            );
        }
    }
}
