//! The names of CI per environment: the AWS roles GitHub Actions assumes,
//! the GitHub environments whose jobs assume them, and the OIDC subjects
//! each role trusts (GitHub's `sub` claim, immutable or by name). The role
//! and environment kinds themselves (`GithubRole`, `GithubEnvironment`) are
//! the parent's, which this only reads.

use super::*;

impl<'a> Names<'a> {
    // --- CI ----------------------------------------------------------------

    /// A GitHub role of this environment: `<project>-<env>-github-<kind>`.
    pub fn github_role_name(&self, role: GithubRole) -> String {
        format!("{}-github-{}", self.prefix(), role.suffix())
    }
    pub fn github_role(&self, role: GithubRole) -> String {
        self.role_arn(&self.github_role_name(role))
    }
    /// The GitHub environment a kind of job runs in: the only thing in the
    /// token GitHub issues that tells one job from another, so each role
    /// trusts its own (docs/security.md, "Who may assume what").
    pub fn github_environment(&self, e: GithubEnvironment) -> String {
        let env = self.environment();
        match e {
            GithubEnvironment::Plan => format!("{env}-plan"),
            GithubEnvironment::Infra => format!("{env}-infra"),
            GithubEnvironment::Replan => format!("{env}-replan"),
            GithubEnvironment::Release => env.to_string(),
        }
    }
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID` (immutable) or `repo:OWNER/REPO`:
    /// how the `sub` claim of this repository's tokens begins.
    pub fn github_subject_prefix(&self) -> String {
        github_subject_prefix(self.cfg)
    }
    /// The `sub` of a job that runs in `environment` (GitHub's rule: a job
    /// with an environment is named by it, whatever the event).
    pub fn github_subject(&self, e: GithubEnvironment) -> String {
        format!("{}:environment:{}", self.github_subject_prefix(), self.github_environment(e))
    }
    /// The subjects a role trusts: those of the GitHub environments whose jobs assume it.
    pub fn github_trusted_subjects(&self, role: GithubRole) -> Vec<String> {
        role.environments().iter().map(|e| self.github_subject(*e)).collect()
    }
}
