//! Parsing of Kubernetes resource quantities (`"5Gi"`, `"500m"`, `"1e3"`), enough to validate
//! them: well-formedness, sign and zero.

/// The facts validation needs about a quantity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ParsedQuantity {
    /// The value is below zero.
    pub negative: bool,
    /// The value is exactly zero.
    pub zero: bool,
    /// The value as a float, close enough to compare requests with limits.
    pub approx: f64,
}

/// A quantity string that does not match Kubernetes' quantity grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)]
pub struct QuantityError;

const SUFFIXES: &[&str] = &[
    "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "", "k", "M", "G", "T", "P", "E",
];

/// Parses a quantity with the grammar of `k8s.io/apimachinery/pkg/api/resource`:
/// `<sign>?<digits>[.<digits>]<suffix>` where the suffix is a binary SI suffix (`Ki`…`Ei`), a
/// decimal SI suffix (`n`, `u`, `m`, ``, `k`, `M`, `G`, `T`, `P`, `E`) or an exponent (`e3`, `E-2`).
pub fn parse_quantity(s: &str) -> Result<ParsedQuantity, QuantityError> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let number_len = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.contains('.') {
        return Err(QuantityError);
    }
    if !SUFFIXES.contains(&suffix) && !is_exponent(suffix) {
        return Err(QuantityError);
    }
    let zero = number.chars().all(|c| c == '0' || c == '.');
    let magnitude: f64 = format!("0{number}0")
        .parse::<f64>()
        .map_err(|_| QuantityError)?;
    // `format!` pads "5." and ".5" into parsable forms; undo the trailing-zero padding.
    let magnitude = if number.contains('.') {
        magnitude
    } else {
        magnitude / 10.0
    };
    let approx = magnitude * multiplier(suffix) * if negative { -1.0 } else { 1.0 };
    Ok(ParsedQuantity {
        negative: negative && !zero,
        zero,
        approx,
    })
}

fn multiplier(suffix: &str) -> f64 {
    match suffix {
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "" => 1.0,
        exponent => exponent[1..].parse::<i32>().map_or(1.0, |e| 10f64.powi(e)),
    }
}

fn is_exponent(suffix: &str) -> bool {
    let Some(exp) = suffix.strip_prefix(['e', 'E']) else {
        return false;
    };
    let digits = exp.strip_prefix(['+', '-']).unwrap_or(exp);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantity_table() {
        let ok = |s: &str, negative, zero| {
            let q = parse_quantity(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!((q.negative, q.zero), (negative, zero), "{s}");
        };
        ok("5Gi", false, false);
        ok("500m", false, false);
        ok("1.5", false, false);
        ok(".5", false, false);
        ok("5.", false, false);
        ok("1e3", false, false);
        ok("1E-2", false, false);
        ok("0", false, true);
        ok("0Gi", false, true);
        ok("-0", false, true);
        ok("-1Gi", true, false);
        ok("+10Ki", false, false);
        let approx = |s: &str| parse_quantity(s).unwrap().approx;
        assert_eq!(approx("5Gi"), 5.0 * 1024.0 * 1024.0 * 1024.0);
        assert_eq!(approx("500m"), 0.5);
        assert_eq!(approx("1.5k"), 1500.0);
        assert_eq!(approx("5."), 5.0);
        assert_eq!(approx(".5"), 0.5);
        assert_eq!(approx("12"), 12.0);
        assert_eq!(approx("1e3"), 1000.0);
        assert_eq!(approx("-2"), -2.0);
        for bad in [
            "", "Gi", "5GB", "5 Gi", "1.2.3", "e3", "1e", "abc", "5gi", "--1", ".",
        ] {
            assert_eq!(parse_quantity(bad), Err(QuantityError), "{bad:?}");
        }
    }
}
