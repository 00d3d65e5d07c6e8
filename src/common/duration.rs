//! Durations in Prometheus' syntax (`1h30m`, `5s`, `1d`, `1w`, `100ms`, `0`), parsed and printed
//! exactly as Prometheus' `model.Duration` does, with millisecond resolution.

use std::fmt;
use std::str::FromStr;
use std::time::Duration as StdDuration;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the Prometheus way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(StdDuration);

const UNITS: [(&str, u64); 7] = [
    ("y", 1000 * 60 * 60 * 24 * 365),
    ("w", 1000 * 60 * 60 * 24 * 7),
    ("d", 1000 * 60 * 60 * 24),
    ("h", 1000 * 60 * 60),
    ("m", 1000 * 60),
    ("s", 1000),
    ("ms", 1),
];

/// Why a string is not a Prometheus duration; the messages are Prometheus' own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseDurationError(String);

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseDurationError {}

impl Duration {
    pub const fn from_secs(s: u64) -> Self {
        Duration(StdDuration::from_secs(s))
    }

    pub const fn from_millis(ms: u64) -> Self {
        Duration(StdDuration::from_millis(ms))
    }

    pub fn as_std(&self) -> StdDuration {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }
}

impl From<Duration> for StdDuration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    /// Units in decreasing order, each at most once: `y w d h m s ms`; `0` alone is zero.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "0" => return Ok(Duration::default()),
            "" => return Err(ParseDurationError("empty duration string".into())),
            _ => {}
        }
        let invalid = || ParseDurationError(format!("not a valid duration string: {s:?}"));
        let mut rest = s;
        let mut next_unit = 0;
        let mut total_ms: u64 = 0;
        let mut overflow = false;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let (number, after) = rest.split_at(digits);
            // "ms" must be tried before "m".
            let unit = UNITS[next_unit..]
                .iter()
                .enumerate()
                .filter(|(_, (u, _))| after.starts_with(u))
                .max_by_key(|(_, (u, _))| u.len())
                .map(|(i, u)| (i + next_unit, *u));
            let Some((index, (unit, mult))) = unit else {
                return Err(invalid());
            };
            next_unit = index + 1;
            rest = &after[unit.len()..];
            let n: u64 = match number.parse() {
                Ok(n) => n,
                Err(_) => {
                    overflow = true;
                    continue;
                }
            };
            match n.checked_mul(mult).and_then(|ms| total_ms.checked_add(ms)) {
                // Go's time.Duration is int64 nanoseconds.
                Some(t) if t <= (i64::MAX as u64) / 1_000_000 => total_ms = t,
                _ => overflow = true,
            }
        }
        if overflow {
            return Err(ParseDurationError("duration out of range".into()));
        }
        Ok(Duration(StdDuration::from_millis(total_ms)))
    }
}

impl fmt::Display for Duration {
    /// Prometheus' format: `0s`, `1h30m`, `90d` (years and weeks only when exact).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis() as u64;
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, mult) in UNITS {
            let exact_only = unit == "y" || unit == "w";
            if exact_only && !ms.is_multiple_of(mult) {
                continue;
            }
            let v = ms / mult;
            if v > 0 {
                write!(f, "{v}{unit}")?;
                ms -= v * mult;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<Duration>().unwrap().0.as_millis() as u64
    }

    #[test]
    fn parses_prometheus_syntax() {
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        assert_eq!(ms("100ms"), 100);
        assert_eq!(ms("1h30m"), 90 * 60 * 1000);
        assert_eq!(ms("1d"), 86_400_000);
        assert_eq!(ms("1w"), 7 * 86_400_000);
        assert_eq!(ms("1y"), 365 * 86_400_000);
        assert_eq!(ms("1m1ms"), 60_001);
        assert_eq!(ms("2h45m1s"), (2 * 3600 + 45 * 60 + 1) * 1000);
    }

    #[test]
    fn rejects_what_prometheus_rejects() {
        for bad in [
            "", "1", "1.5s", "-1s", "1s1m", "1h1h", "1S", " 1s", "1s ", "s", "1us",
        ] {
            assert!(bad.parse::<Duration>().is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            "1x".parse::<Duration>().unwrap_err().to_string(),
            "not a valid duration string: \"1x\""
        );
        assert_eq!(
            "".parse::<Duration>().unwrap_err().to_string(),
            "empty duration string"
        );
        assert_eq!(
            "300000000y".parse::<Duration>().unwrap_err().to_string(),
            "duration out of range"
        );
    }

    #[test]
    fn prints_like_prometheus() {
        for (input, printed) in [
            ("0", "0s"),
            ("90m", "1h30m"),
            ("7d", "1w"),
            ("8d", "8d"),
            ("365d", "1y"),
            ("1500ms", "1s500ms"),
            ("15s", "15s"),
        ] {
            assert_eq!(input.parse::<Duration>().unwrap().to_string(), printed);
        }
    }
}
