//! Aggregation strategies and their textual form (`tensorc fed simulate --strategy`).

use std::fmt;

use crate::FedError;

/// Server-side Adam of FedAdam (Reddi et al. 2021, "Adaptive Federated Optimization"):
/// with Δ the weighted mean of the clients' updates,
/// `m ← β1·m + (1−β1)·Δ`, `v ← β2·v + (1−β2)·Δ²`, `w ← w + lr·m / (√v + τ)`
/// (no bias correction, as in the paper; τ bounds the step where `v` is tiny).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub tau: f64,
}

impl Default for AdamConfig {
    /// The paper's defaults (β1 = 0.9, β2 = 0.99, τ = 10⁻³) with a server learning rate of 0.01.
    fn default() -> AdamConfig {
        AdamConfig { lr: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 }
    }
}

/// How a round's accepted updates become the next global model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Strategy {
    /// `w ← w + Σ nₖΔₖ / Σ nₖ` (McMahan et al. 2017), nₖ the client's examples.
    FedAvg,
    /// FedAvg on the server; each client minimises `loss + mu/2·||w − w_global||²`
    /// (Li et al. 2020). The server only passes `mu` on ([`Strategy::proximal_mu`]).
    FedProx { mu: f64 },
    /// Server-side Adam on the weighted mean update.
    FedAdam(AdamConfig),
    /// `w ← w + median(Δ)` coordinate-wise, unweighted (Yin et al. 2018): robust while
    /// fewer than half of a round's updates are arbitrary.
    Median,
    /// `w ← w + trimmed_mean(Δ)`: per coordinate, drop the ⌊β·n⌋ largest and ⌊β·n⌋
    /// smallest values and average the rest, unweighted. `0 ≤ β < 0.5`.
    TrimmedMean { beta: f64 },
}

impl Strategy {
    /// `fedavg`, `fedprox:MU`, `fedadam` or `fedadam:LR`, `median`, `trimmed:BETA`.
    pub fn parse(text: &str) -> Result<Strategy, FedError> {
        let (name, arg) = match text.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (text, None),
        };
        let number = |what: &str| -> Result<f64, FedError> {
            let arg =
                arg.ok_or_else(|| FedError::Strategy(format!("strategy `{name}` needs {what}: `{name}:{what}`")))?;
            arg.parse::<f64>().map_err(|_| FedError::Strategy(format!("strategy `{text}`: `{arg}` is not a number")))
        };
        let strategy = match name {
            "fedavg" if arg.is_none() => Strategy::FedAvg,
            "fedprox" => Strategy::FedProx { mu: number("MU")? },
            "fedadam" if arg.is_none() => Strategy::FedAdam(AdamConfig::default()),
            "fedadam" => Strategy::FedAdam(AdamConfig { lr: number("LR")?, ..AdamConfig::default() }),
            "median" if arg.is_none() => Strategy::Median,
            "trimmed" => Strategy::TrimmedMean { beta: number("BETA")? },
            "fedavg" | "median" => return Err(FedError::Strategy(format!("strategy `{name}` takes no parameter"))),
            _ => {
                return Err(FedError::Strategy(format!(
                    "unknown strategy `{text}`; expected fedavg, fedprox:MU, fedadam[:LR], median or trimmed:BETA"
                )))
            }
        };
        strategy.check()?;
        Ok(strategy)
    }

    /// An error unless the parameters are in range.
    pub fn check(&self) -> Result<(), FedError> {
        let bad = |message: String| Err(FedError::Strategy(message));
        match *self {
            Strategy::FedProx { mu } if !(mu >= 0.0 && mu.is_finite()) => {
                bad(format!("fedprox: MU must be ≥ 0, got {mu}"))
            }
            Strategy::TrimmedMean { beta } if !(0.0..0.5).contains(&beta) => {
                bad(format!("trimmed: BETA must be in [0, 0.5), got {beta}"))
            }
            Strategy::FedAdam(c) => {
                let ok = c.lr > 0.0
                    && c.lr.is_finite()
                    && (0.0..1.0).contains(&c.beta1)
                    && (0.0..1.0).contains(&c.beta2)
                    && c.tau > 0.0
                    && c.tau.is_finite();
                if ok {
                    Ok(())
                } else {
                    bad(format!("fedadam: need lr > 0, 0 ≤ β1, β2 < 1 and τ > 0; got {c:?}"))
                }
            }
            _ => Ok(()),
        }
    }

    /// The proximal coefficient clients add to their loss (`mu/2·||w − w_global||²`), for FedProx.
    pub fn proximal_mu(&self) -> Option<f64> {
        match *self {
            Strategy::FedProx { mu } => Some(mu),
            _ => None,
        }
    }

    /// Whether the strategy needs every update of a coordinate at once (median, trimmed
    /// mean) rather than a running weighted sum.
    pub fn is_robust(&self) -> bool {
        matches!(self, Strategy::Median | Strategy::TrimmedMean { .. })
    }
}

impl fmt::Display for Strategy {
    /// The form [`Strategy::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::FedAvg => f.write_str("fedavg"),
            Strategy::FedProx { mu } => write!(f, "fedprox:{mu}"),
            Strategy::FedAdam(c) if *c == AdamConfig::default() => f.write_str("fedadam"),
            Strategy::FedAdam(c) => write!(f, "fedadam:{}", c.lr),
            Strategy::Median => f.write_str("median"),
            Strategy::TrimmedMean { beta } => write!(f, "trimmed:{beta}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_back() {
        for text in ["fedavg", "fedprox:0.01", "fedadam", "fedadam:0.1", "median", "trimmed:0.1", "trimmed:0"] {
            assert_eq!(Strategy::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(Strategy::parse("fedprox:0.5").unwrap().proximal_mu(), Some(0.5));
        assert!(Strategy::parse("median").unwrap().is_robust());
    }

    #[test]
    fn rejects_bad_text_and_parameters() {
        for bad in
            ["fedsgd", "fedprox", "fedprox:x", "fedprox:-1", "trimmed:0.5", "trimmed:-0.1", "median:3", "fedadam:0", ""]
        {
            assert!(matches!(Strategy::parse(bad), Err(FedError::Strategy(_))), "{bad}");
        }
    }
}
