output "role_arns" {
  description = "ARN of each role, by kind."
  value       = { for k, r in aws_iam_role.this : k => r.arn }
}
