//! What a change does to each environment's monthly estimate and to its
//! budget (`[budget]`): the typed rows the review shows and `diff --json`
//! prints, computed from the config at the base and now.

use serde::Serialize;

use crate::config::Config;

/// An environment whose estimated monthly cost changes.
#[derive(Debug, Clone, Serialize)]
pub struct CostChange {
    pub environment: String,
    pub before: Option<f64>,
    pub after: Option<f64>,
    /// What the estimate after the change has no price for: left out, so
    /// `after` is a lower bound.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// The same before the change (`before` is then a lower bound).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_before: Vec<String>,
    /// The environment's region, when it is not the one whose prices the
    /// estimate uses (`cost::PRICE_REGION`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl CostChange {
    /// The estimates of one environment before and after a change (`None`:
    /// the environment does not exist on that side).
    pub fn of(
        environment: String,
        before: Option<&crate::cost::Estimate>,
        after: Option<&crate::cost::Estimate>,
    ) -> Self {
        let region = after.or(before).map(|e| e.region.clone()).filter(|r| r != crate::cost::PRICE_REGION);
        CostChange {
            environment,
            before: before.map(|e| e.total_usd),
            after: after.map(|e| e.total_usd),
            unpriced: after.map(crate::cost::Estimate::unpriced_names).unwrap_or_default(),
            unpriced_before: before.map(crate::cost::Estimate::unpriced_names).unwrap_or_default(),
            region,
        }
    }

    /// The estimate changed, or what it cannot price did.
    pub fn moved(&self) -> bool {
        self.before != self.after || self.unpriced != self.unpriced_before
    }

    /// `+$328.50`; a bound where a side leaves something out: `≥ -$20.04`
    /// (after is a lower bound), `≤ +$20.04` (before is), `unknown` (both).
    pub fn delta(&self) -> String {
        let d = self.after.unwrap_or(0.0) - self.before.unwrap_or(0.0);
        let d = if d >= 0.0 { format!("+{}", crate::cost::usd(d)) } else { crate::cost::usd(d) };
        match (self.unpriced_before.is_empty(), self.unpriced.is_empty()) {
            (true, true) => d,
            (true, false) => format!("≥ {d}"),
            (false, true) => format!("≤ {d}"),
            (false, false) => "unknown: both sides leave items out".into(),
        }
    }
}

/// An environment's estimate against its budget (`[budget]`), after the change.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetCheck {
    pub environment: String,
    pub estimate: f64,
    pub limit: f64,
    pub warn_percent: u8,
    /// The estimate before the change (none: a new environment or no base).
    pub before: Option<f64>,
    /// The change takes the estimate over the limit.
    pub crossed: bool,
    /// The keys of `myhealth.toml` this change moves in the environment, the
    /// largest cost first.
    pub keys: Vec<BudgetKey>,
    /// What the estimate has no price for (left out: `estimate` is a lower
    /// bound, so being under the limit is not known).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// Of those, what the change brings in (the base's estimate did not
    /// leave it out): `--budget-gate` fails on it, as on a crossing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced_added: Vec<String>,
    /// The environment's region, when it is not the one whose prices the
    /// estimate uses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A key a change moves, with what it alone adds to the estimate (the base
/// config with only that key changed; known when the change crossed the budget).
#[derive(Debug, Clone, Serialize)]
pub struct BudgetKey {
    pub key: String,
    pub adds_usd: Option<f64>,
}

impl BudgetCheck {
    pub fn over(&self) -> bool {
        self.estimate > self.limit
    }
}

/// `` `t3.nano`, `db.x2g.large` ``
pub fn names(v: &[String]) -> String {
    v.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// An estimate as the review shows it: `at least …` when something is unpriced.
pub(super) fn estimate_usd(x: Option<f64>, unpriced: &[String]) -> String {
    match x {
        Some(_) if !unpriced.is_empty() => format!("at least {}", usd(x)),
        _ => usd(x),
    }
}

pub(super) fn usd(x: Option<f64>) -> String {
    x.map(crate::cost::usd).unwrap_or_else(|| "—".into())
}

/// Each environment's estimate against its budget, and whether the change
/// crossed it — with the keys the change moves there, each with what it
/// alone adds to the estimate (the base config with only that key changed),
/// the largest first.
pub(super) fn budget_checks(
    base: Option<&Config>,
    base_text: Option<&str>,
    now: &Config,
    config: &crate::config::keys::change::ConfigChange,
    display: &str,
) -> Vec<BudgetCheck> {
    let a = crate::cost::Assumptions::default();
    now.environments
        .iter()
        .filter_map(|e| {
            let b = e.budget.as_ref()?;
            let env = e.name.value.as_str();
            let full = crate::cost::estimate(e, &a);
            let estimate = full.total_usd;
            let base_est = base.and_then(|c| c.env(env)).map(|x| crate::cost::estimate(x, &a));
            let before = base_est.as_ref().map(|x| x.total_usd);
            let unpriced = full.unpriced_names();
            let before_unpriced = base_est.as_ref().map(crate::cost::Estimate::unpriced_names).unwrap_or_default();
            let unpriced_added: Vec<String> =
                unpriced.iter().filter(|n| !before_unpriced.contains(n)).cloned().collect();
            let limit = b.monthly_usd.value;
            let crossed = estimate > limit && before.is_none_or(|x| x <= limit);
            let mut keys: Vec<BudgetKey> = config
                .keys
                .iter()
                .filter(|k| k.environment == env)
                .map(|k| {
                    let adds_usd = match (base_text, &k.after, before) {
                        (Some(text), Some(after), Some(before)) if crossed => {
                            crate::ops::explain::set(text, env, &k.key, after)
                                .ok()
                                .and_then(|t| {
                                    crate::config::load_historic(crate::diagnostics::Source {
                                        text: t,
                                        name: display.into(),
                                    })
                                    .ok()
                                })
                                .and_then(|c| c.env(env).map(|x| crate::cost::estimate(x, &a).total_usd - before))
                                .filter(|d| d.abs() >= 0.005)
                        }
                        _ => None,
                    };
                    BudgetKey { key: k.key.clone(), adds_usd }
                })
                .collect();
            keys.sort_by(|x, y| y.adds_usd.unwrap_or(0.0).total_cmp(&x.adds_usd.unwrap_or(0.0)));
            Some(BudgetCheck {
                environment: env.to_string(),
                estimate,
                limit,
                warn_percent: b.warn_percent.value,
                crossed,
                before,
                keys,
                unpriced,
                unpriced_added,
                region: Some(full.region).filter(|r| r != crate::cost::PRICE_REGION),
            })
        })
        .collect()
}

/// Cost changes between the config at the base (when it loads) and now.
pub(super) fn cost_changes(base: Option<&Config>, now: &Config) -> Vec<CostChange> {
    let a = crate::cost::Assumptions::default();
    let total = |c: Option<&Config>, name: &str| c.and_then(|c| c.env(name)).map(|e| crate::cost::estimate(e, &a));
    let mut names: Vec<String> = now.env_names();
    for n in base.map(Config::env_names).unwrap_or_default() {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    names
        .into_iter()
        .map(|n| {
            let (before, after) = (total(base, &n), total(Some(now), &n));
            CostChange::of(n, before.as_ref(), after.as_ref())
        })
        .filter(|c| c.moved() && base.is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A side that leaves something out makes the change a bound, never a
    /// plain number.
    #[test]
    fn a_cost_change_with_something_unpriced_is_a_bound() {
        let c = |unpriced_before: &[&str], unpriced: &[&str]| CostChange {
            environment: "dev".into(),
            before: Some(172.31),
            after: Some(152.27),
            unpriced: unpriced.iter().map(|s| s.to_string()).collect(),
            unpriced_before: unpriced_before.iter().map(|s| s.to_string()).collect(),
            region: None,
        };
        assert_eq!(c(&[], &[]).delta(), "-$20.04");
        assert_eq!(c(&[], &["t3.nano"]).delta(), "≥ -$20.04");
        assert_eq!(c(&["t3.nano"], &[]).delta(), "≤ -$20.04");
        assert_eq!(c(&["t3.nano"], &["t3.nano"]).delta(), "unknown: both sides leave items out");
        assert!(
            c(&[], &["t3.nano"]).moved() && !CostChange { before: Some(1.0), after: Some(1.0), ..c(&[], &[]) }.moved()
        );
        let json = serde_json::to_value(c(&[], &[])).unwrap();
        assert_eq!(json, serde_json::json!({"environment": "dev", "before": 172.31, "after": 152.27}));
    }
}
