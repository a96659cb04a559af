//! `[services.*]`: names, kinds and schedules, ports, probes, resources
//! (requests within limits), `env` and `secret_env`.

use std::sync::OnceLock;

use regex::Regex;

use super::ctx::*;
use super::grammar::*;
use crate::config::model::ServiceKind;
use crate::pattern::re;

pub(super) fn services(c: &mut Ctx<'_, '_>) {
    static ENV: OnceLock<Regex> = OnceLock::new();
    let env_name = re(&ENV, r"^[A-Za-z_][A-Za-z0-9_]*$");
    for s in &c.env.services {
        let name = s.name.value.clone();
        if !dns_label(&name) || name.len() > 40 {
            c.err(
                &s.name,
                "services",
                format!("service name `{name}` is not a DNS-safe name of at most 40 characters"),
                "use lowercase letters, digits and `-`, e.g. `api-service`",
            );
        }
        match (s.kind.value, &s.schedule) {
            (ServiceKind::Cronjob, None) => c.err(
                &s.kind,
                "services",
                format!("service `{name}` is a `cronjob` but has no `schedule`"),
                "add e.g. `schedule = \"*/5 * * * *\"`",
            ),
            (ServiceKind::Cronjob, Some(sched)) => {
                if sched.value.split_whitespace().count() != 5 {
                    c.err(
                        sched,
                        "services",
                        format!("schedule `{}` of `{name}` must have five fields", sched.value),
                        "Kubernetes CronJobs use `minute hour day-of-month month day-of-week`, e.g. `*/5 * * * *`",
                    );
                } else if let Err(err) = sched.value.parse::<croner::Cron>() {
                    c.err(
                        sched,
                        "services",
                        format!(
                            "schedule `{}` of `{name}` does not parse: {}",
                            sched.value,
                            crate::config::doc::lowercase_first(&err.to_string())
                        ),
                        "use five cron fields, e.g. `*/5 * * * *` for every five minutes",
                    );
                }
            }
            (ServiceKind::Deployment, Some(sched)) => c.err(
                sched,
                "services",
                format!("service `{name}` is a `deployment`, so `schedule` has no effect"),
                "remove `schedule`, or set `kind = \"cronjob\"`",
            ),
            (ServiceKind::Deployment, None) => {}
        }
        let a = &s.autoscaling;
        if a.min_replicas.value == 0 {
            c.err(
                &a.min_replicas,
                "services",
                format!("service `{name}`: `autoscaling.min_replicas` is 0"),
                "keep at least one replica running",
            );
        }
        if a.min_replicas.value > a.max_replicas.value {
            c.err(
                &a.min_replicas,
                "services",
                format!(
                    "service `{name}`: `autoscaling.min_replicas` ({}) is greater than `max_replicas` ({})",
                    a.min_replicas.value, a.max_replicas.value
                ),
                "autoscaling needs min_replicas <= max_replicas",
            );
        }
        if !(1..=100).contains(&a.target_cpu_percent.value) {
            c.err(
                &a.target_cpu_percent,
                "services",
                format!(
                    "service `{name}`: `autoscaling.target_cpu_percent` ({}) must be between 1 and 100",
                    a.target_cpu_percent.value
                ),
                "70 is a common target",
            );
        }
        if s.port.value < 1024 {
            c.err(
                &s.port,
                "services",
                format!("service `{name}`: port {} is privileged and containers run as non-root", s.port.value),
                "use a port of 1024 or above, e.g. `8080`",
            );
        }
        let r = &s.resources;
        for (req, lim, what, unit) in [
            (&r.cpu_request, &r.cpu_limit, "cpu", Unit::Cpu),
            (&r.memory_request, &r.memory_limit, "memory", Unit::Memory),
        ] {
            let (rq, lm) = (quantity(&req.value, unit), quantity(&lim.value, unit));
            for (sp, v, k) in [(req, rq, "request"), (lim, lm, "limit")] {
                if v.is_none() {
                    let ex = if unit == Unit::Cpu { "`100m` or `1`" } else { "`128Mi` or `1Gi`" };
                    c.err(
                        sp,
                        "services",
                        format!("service `{name}`: `{what}_{k}` `{}` is not a Kubernetes {what} quantity", sp.value),
                        format!("e.g. {ex}"),
                    );
                }
            }
            if let (Some(q), Some(l)) = (rq, lm) {
                if q > l {
                    c.err(
                        req,
                        "services",
                        format!(
                            "service `{name}`: `{what}_request` ({}) is greater than `{what}_limit` ({})",
                            req.value, lim.value
                        ),
                        "a request cannot exceed its limit",
                    );
                }
            }
        }
        for (k, _) in &s.env {
            if !env_name.is_match(&k.value) {
                c.err(
                    k,
                    "services",
                    format!("`{}` is not a valid environment variable name", k.value),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
        }
        for (k, r) in &s.secret_env {
            if !env_name.is_match(&k.value) {
                c.err(
                    k,
                    "services",
                    format!("`{}` is not a valid environment variable name", k.value),
                    "use letters, digits and `_`, not starting with a digit",
                );
            }
            secret_ref(c, r, &format!("services.{name}.secret_env.{}", k.value));
            if s.env.iter().any(|(e, _)| e.value == k.value) {
                c.err(
                    k,
                    "services",
                    format!("service `{name}` sets `{}` in both `env` and `secret_env`", k.value),
                    "keep one of them",
                );
            }
        }
    }
}
