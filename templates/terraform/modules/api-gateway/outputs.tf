output "api_id" {
  description = "ID of the HTTP API."
  value       = aws_apigatewayv2_api.this.id
}

output "invoke_url" {
  description = "Default invoke URL of the API."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "custom_domain_url" {
  description = "https URL of the custom domain, or null."
  value       = var.custom_domain == null ? null : "https://${var.custom_domain}"
}

output "ingress_target_group_arn" {
  description = "Target group the ingress pods are registered in (TargetGroupBinding)."
  value       = aws_lb_target_group.ingress.arn
}

output "ingress_target_group_name" {
  description = "Name of that target group (what the TargetGroupBinding names)."
  value       = aws_lb_target_group.ingress.name
}
