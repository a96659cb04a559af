output "plan_role_arn" {
  description = "Role pull-request workflows assume to plan."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "Role deployment workflows of the GitHub environment assume to apply."
  value       = aws_iam_role.apply.arn
}
