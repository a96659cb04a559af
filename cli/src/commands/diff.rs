//! `myhealthctl diff`: (a) the drift gate — the generated tree on disk vs a
//! fresh in-memory render; (b) `--base REV` — the review of a change: what
//! it does to `myhealth.toml`'s settings per environment, to the generated
//! tree committed at REV (read through git) against a fresh render of the
//! working tree, to each environment's cost, its Kubernetes objects
//! (`--manifests`, rendered by Helm) and its plan (`--plans`); as a
//! pull-request comment with a size budget (`ops::review`). Every printed
//! line is redacted.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::args::{Format, Global, RenderArgs};
use crate::changes;
use crate::config::Config;
use crate::exit::Outcome;
use crate::ops::review::{self, BudgetCheck, BudgetKey, CostChange, Review};
use crate::ops::{drift, manifests, terraform};
use crate::project::Project;
use crate::redact::Redactor;

#[derive(Args, Debug)]
pub struct DiffCmd {
    #[command(flatten)]
    pub args: RenderArgs,
    /// Compare the generated tree committed at this git revision with a fresh render of the working tree
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Only list changed files and per-environment counts
    #[arg(long)]
    pub stat: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Same as `--format json`
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// With `--base`: exit 1 when the output differs (without `--base` it always does)
    #[arg(long)]
    pub exit_code: bool,
    /// With `--base`: also render the chart of every environment at both sides with Helm (`helm template`, or `$MYHEALTHCTL_HELM`) and show the Kubernetes objects that change
    #[arg(long, requires = "base")]
    pub manifests: bool,
    /// With `--base`: plan summaries to include, one `<env>.json` per environment (`myhealthctl plan ENV --json`)
    #[arg(long, value_name = "DIR", requires = "base")]
    pub plans: Option<PathBuf>,
    /// With `--format markdown`: the comment's size limit in characters (the summary always fits; details that do not are named)
    #[arg(long, value_name = "N", default_value_t = review::DEFAULT_BUDGET, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(2_000..=65_536))]
    pub max_chars: usize,
    /// With `--format markdown`: also write the full report, nothing left out, to FILE
    #[arg(long, value_name = "FILE")]
    pub full: Option<PathBuf>,
    /// With `--format markdown`: where the full report can be read (the comment links it when details are left out)
    #[arg(long, value_name = "URL")]
    pub details_url: Option<String>,
    /// With `--base`: exit 1 when the change takes an environment's estimate over its budget (`[budget]`), after printing everything
    #[arg(long, requires = "base")]
    pub budget_gate: bool,
    /// With `--base`: compare with the output as it is on disk (what the change commits), not a fresh render — how a myhealthctl built from the base reviews a change that may alter myhealthctl itself
    #[arg(long, requires = "base")]
    pub committed: bool,
}

impl DiffCmd {
    fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }

    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        match &self.base {
            None => drift::show(&p, &cfg, &self.args, self.format(), self.stat),
            Some(rev) => self.against_base(&p, &cfg, rev),
        }
    }

    fn against_base(&self, p: &Project, cfg: &Config, rev: &str) -> anyhow::Result<Outcome> {
        let opts = p.render_options(cfg, &self.args)?;
        let new = if self.committed {
            drift::filter_envs(p.outputs(cfg, &self.args.tree).read()?, &opts.only_envs)
        } else {
            let mut fresh = crate::render::render(cfg, &p.templates(&self.args.tree)?, &opts)?;
            let disk = drift::filter_envs(p.outputs(cfg, &self.args.tree).read()?, &opts.only_envs);
            crate::ops::retire::keep(&disk, &mut fresh, cfg);
            fresh
        };

        let top = crate::git::toplevel(&p.root)?;
        let top_canon = top.canonicalize().unwrap_or(top.clone());
        let commit = crate::git::resolve_commit(&top, rev)?;
        let old = drift::filter_envs(drift::committed_at(p, cfg, &self.args, &top, &commit)?, &opts.only_envs);

        // The config at the base, when it loads: the settings and cost before the change.
        let cfg_rel = p
            .config_path
            .canonicalize()
            .ok()
            .and_then(|c| c.strip_prefix(&top_canon).ok().map(|r| r.to_string_lossy().into_owned()));
        let base_text: Option<String> = cfg_rel
            .and_then(|rel| crate::git::show(&top, &commit, &rel).ok().flatten())
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let base_cfg: Option<Config> = base_text.clone().and_then(|text| {
            crate::config::load_historic(crate::diagnostics::Source { name: p.display.clone(), text }).ok()
        });
        let head_text = std::fs::read_to_string(&p.config_path)?;
        let redactor = Redactor;

        let ch = changes::compare(&old, &new);
        let costs = cost_changes(base_cfg.as_ref(), cfg);
        let label = if rev.len() > 12 && rev.chars().all(|c| c.is_ascii_hexdigit()) {
            rev[..12].to_string()
        } else {
            rev.to_string()
        };
        let config = crate::config::keys::compare(base_cfg.as_ref().zip(base_text.as_deref()), (cfg, &head_text));
        let objects = match self.manifests {
            true => Some(manifests::release_changes(base_cfg.as_ref(), cfg, &old, &new)?),
            false => None,
        };
        let plans = match &self.plans {
            Some(dir) => read_plans(dir)?,
            None => BTreeMap::new(),
        };
        let budgets = budget_checks(base_cfg.as_ref(), base_text.as_deref(), cfg, &config, &p.display);
        let crossed: Vec<String> = budgets.iter().filter(|b| b.crossed).map(|b| b.environment.clone()).collect();
        let unchecked: Vec<String> = budgets
            .iter()
            .filter(|b| !b.crossed && !b.unpriced_added.is_empty())
            .map(|b| format!("`{}` ({})", b.environment, review::names(&b.unpriced_added)))
            .collect();
        let review = Review {
            base_label: label.clone(),
            config_file: p.config_name(),
            budgets,
            config,
            files: &ch,
            costs,
            plans,
            objects,
            retired: crate::ops::retire::retired(&new).into_iter().collect(),
            order: {
                let mut o = cfg.env_names();
                o.extend(base_cfg.iter().flat_map(Config::env_names).filter(|n| cfg.env(n).is_none()));
                o
            },
        };
        let mut stdout = crate::output::stdout();
        match self.format() {
            Format::Markdown => {
                let comment = review.markdown(&redactor, self.max_chars, self.details_url.as_deref());
                if let Some(f) = &self.full {
                    std::fs::write(f, &comment.full).with_context(|| format!("cannot write `{}`", f.display()))?;
                }
                write!(stdout, "{}", comment.body)?;
            }
            Format::Json => {
                let mut v = drift::json_report(&ch, Some(&label));
                v["cost"] = serde_json::to_value(&review.costs)?;
                v["budgets"] = serde_json::to_value(&review.budgets)?;
                v["config"] = serde_json::to_value(&review.config)?;
                if let Some(o) = &review.objects {
                    v["objects"] = serde_json::to_value(o)?;
                }
                writeln!(stdout, "{}", serde_json::to_string_pretty(&v)?)?
            }
            Format::Text => {
                for k in &review.config.keys {
                    let at = k.at.as_ref().map_or("built-in".into(), |a| format!("{}:{}", p.display, a.line));
                    let show = |v: Option<&serde_json::Value>| v.map_or("—".to_string(), |v| v.to_string());
                    writeln!(
                        stdout,
                        "{}: `{}` {} → {} ({at})",
                        k.environment,
                        k.key,
                        redactor.apply(&show(k.before.as_ref())),
                        redactor.apply(&show(k.after.as_ref()))
                    )?;
                }
                for b in review.budgets.iter().filter(|b| b.over()) {
                    writeln!(
                        stdout,
                        "budget of `{}`: the estimate {} is over {}{}",
                        b.environment,
                        crate::cost::usd(b.estimate),
                        crate::cost::usd(b.limit),
                        if b.crossed { " (crossed by this change)" } else { "" }
                    )?;
                }
                for b in review.budgets.iter().filter(|b| !b.over() && !b.unpriced.is_empty()) {
                    writeln!(
                        stdout,
                        "budget of `{}`: not checked in full, the estimate (at least {}) has no price for {}{}",
                        b.environment,
                        crate::cost::usd(b.estimate),
                        review::names(&b.unpriced),
                        if b.unpriced_added.is_empty() { "" } else { " (brought in by this change)" }
                    )?;
                }
                for c in &review.costs {
                    writeln!(
                        stdout,
                        "cost of `{}`: {}{} → {}{} ({} per month){}",
                        c.environment,
                        if c.unpriced_before.is_empty() { "" } else { "at least " },
                        opt_usd(c.before),
                        if c.unpriced.is_empty() { "" } else { "at least " },
                        opt_usd(c.after),
                        delta(c),
                        crate::cost::region_note(c.region.as_deref().unwrap_or(crate::cost::PRICE_REGION))
                            .map_or(String::new(), |n| format!("; {n}"))
                    )?;
                    for n in &c.unpriced {
                        writeln!(
                            stdout,
                            "cost of `{}`: unpriced: no price for `{n}` in the table ({} list prices as of {}); not in the estimate",
                            c.environment,
                            crate::cost::PRICE_REGION,
                            crate::cost::PRICES_AS_OF
                        )?;
                    }
                }
                for (env, objs) in review.objects.iter().flatten().filter(|(_, v)| !v.is_empty()) {
                    for o in objs {
                        writeln!(stdout, "{env}: {:?} {}", o.change, o.object)?;
                    }
                }
                let groups = changes::group(&ch);
                if groups.is_empty() {
                    writeln!(stdout, "no change to the generated output against `{label}`")?;
                }
                for (env, files) in &groups {
                    let s = changes::summarize(files);
                    let title = if env == changes::SHARED {
                        "shared files".to_string()
                    } else {
                        format!("environment `{env}`")
                    };
                    writeln!(
                        stdout,
                        "{}",
                        changes::paint(p.color, "1", &format!("== {title}: {}", changes::stat_line(&s)))
                    )?;
                    for f in files {
                        if self.stat {
                            writeln!(stdout, "  {} {}", changes::kind_letter(f.kind), f.path)?;
                        } else {
                            write!(
                                stdout,
                                "{}",
                                changes::colorize(p.color, &changes::unified(f, &label, "working-tree", &redactor))
                            )?;
                        }
                    }
                }
            }
        }
        if self.budget_gate && !(crossed.is_empty() && unchecked.is_empty()) {
            if !crossed.is_empty() {
                eprintln!(
                    "error: this change takes {} over budget; see `myhealthctl cost`",
                    crossed.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
                );
            }
            if !unchecked.is_empty() {
                eprintln!(
                    "error: this change brings in what the cost table has no price for, so the budget cannot be checked: {}; see `myhealthctl cost`",
                    unchecked.join(", ")
                );
            }
            return Ok(Outcome::Differs);
        }
        Ok(if self.exit_code && !ch.is_empty() { Outcome::Differs } else { Outcome::Ok })
    }
}

/// `DIR/<env>.json`: what `myhealthctl plan ENV --json` printed.
fn read_plans(dir: &std::path::Path) -> anyhow::Result<BTreeMap<String, terraform::Summary>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "json") {
            let s: terraform::Summary = serde_json::from_slice(&std::fs::read(&path)?).with_context(|| {
                format!("`{}` is not a plan summary (`myhealthctl plan ENV --json`)", path.display())
            })?;
            out.insert(s.environment.clone(), s);
        }
    }
    Ok(out)
}

/// Each environment's estimate against its budget, and whether the change
/// crossed it — with the keys the change moves there, each with what it
/// alone adds to the estimate (the base config with only that key changed),
/// the largest first.
fn budget_checks(
    base: Option<&Config>,
    base_text: Option<&str>,
    now: &Config,
    config: &crate::config::keys::ConfigChange,
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
fn cost_changes(base: Option<&Config>, now: &Config) -> Vec<CostChange> {
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

fn opt_usd(x: Option<f64>) -> String {
    x.map(crate::cost::usd).unwrap_or_else(|| "—".into())
}

fn delta(c: &CostChange) -> String {
    c.delta()
}
