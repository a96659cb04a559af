output "github_role_arns" {
  description = "The roles GitHub Actions assumes (plan, apply, release)."
  value       = module.github_oidc.role_arns
}

output "permissions_boundary_arn" {
  description = "The boundary of every role the environment's apply creates."
  value       = aws_iam_policy.boundary.arn
}
