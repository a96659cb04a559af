//! The per-environment paths of the generated tree, with `{env}` for the
//! environment's name: the render families write them, the project finds an
//! environment's Terraform root by them, retiring keeps them, the review
//! names one file of every environment by them.

/// The placeholder for the environment's name in per-environment paths.
pub const ENV_PLACEHOLDER: &str = "{env}";
/// An environment's Terraform root (its infrastructure).
pub const ENV_ROOT: &str = "terraform/envs/{env}/";
/// An environment's access root (the GitHub roles; an administrator applies it).
pub const ACCESS_ROOT: &str = "terraform/access/{env}/";
/// An environment's Helm values.
pub const ENV_VALUES: &str = "helm/values-{env}.yaml";
/// An environment's ArgoCD objects.
pub const ENV_ARGOCD: &str = "argocd/{env}/";

/// A per-environment path of `env`.
pub fn env_path(template: &str, env: &str) -> String {
    template.replace(ENV_PLACEHOLDER, env)
}
