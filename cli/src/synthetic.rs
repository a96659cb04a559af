//! Synthetic configs of any size, for the benchmark and the stress tests
//! (e.g. 100 environments, each with its own VPC and account).

/// A valid config with `n` environments based on the default `myhealth.toml` shape.
pub fn config_with_envs(n: usize) -> String {
    let mut s = String::from(
        "[project]\nname = \"synthetic\"\ndomain = \"example.com\"\ngithub = { owner = \"example\", repo = \"synthetic\", owner_id = 1, repo_id = 2 }\n\n\
         [defaults.aws]\nregion = \"us-east-1\"\naccount_id = \"123456789012\"\n\n\
         [defaults.eks.node_groups.general]\ninstance_types = [\"t3.medium\"]\ncapacity_type = \"SPOT\"\nmin_size = 2\ndesired_size = 2\nmax_size = 10\n\n\
         [defaults.services.oura-collector]\nkind = \"cronjob\"\nschedule = \"*/5 * * * *\"\n\n\
         [defaults.services.data-processor]\nautoscaling = { enabled = true, min_replicas = 2, max_replicas = 5 }\n\n\
         [defaults.services.api-service]\nautoscaling = { enabled = true, min_replicas = 2, max_replicas = 5 }\n",
    );
    for i in 0..n {
        // Each environment gets its own /16 (10.<i>.0.0/16 wraps into 172.16/12 past 255).
        let (a, b) = if i < 250 { (10, i) } else { (172, 16 + (i - 250) % 16) };
        s.push_str(&format!(
            "\n[environments.env{i:03}]\nnetwork = {{ vpc_cidr = \"{a}.{b}.0.0/16\" }}\n{}",
            if i % 3 == 2 { "rds = { multi_az = true, deletion_protection = true }\n" } else { "" }
        ));
    }
    s
}
