# The environment's monthly cost budget (`[budget]` in myhealth.toml): the
# costs of resources tagged `Environment = <environment>` (every resource the
# roots create carries that tag through the provider's default_tags), with a
# notification when actual spend passes the warning percentage and when the
# forecast passes the limit. The tag must be activated once per account as a
# cost allocation tag (docs/budgets.md); until then the filter sees nothing.
resource "aws_budgets_budget" "monthly" {
  account_id   = var.account_id
  name         = var.name
  budget_type  = "COST"
  limit_amount = format("%.2f", var.limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = ["user:Environment$${var.environment}"]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = var.warn_percent
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.notify_emails
    subscriber_sns_topic_arns  = var.sns_topic_arns
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.notify_emails
    subscriber_sns_topic_arns  = var.sns_topic_arns
  }
}
