data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

# Explicit key policy: the account (through IAM) administers and uses the key.
data "aws_iam_policy_document" "this_key" {
  #checkov:skip=CKV_AWS_109:A key policy's "*" resource is the key itself.
  #checkov:skip=CKV_AWS_111:A key policy's "*" resource is the key itself.
  #checkov:skip=CKV_AWS_356:A key policy's "*" resource is the key itself.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "this" {
  policy                  = data.aws_iam_policy_document.this_key.json
  description             = "Secrets of ${var.name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_secretsmanager_secret" "this" {
  #checkov:skip=CKV2_AWS_57:Values are rotated outside Secrets Manager rotation: the collector rotates the Oura refresh token itself, the others are rotated by the operator (docs/security.md).
  for_each = var.secrets

  name                    = each.value.name
  description             = each.value.description
  kms_key_id              = aws_kms_key.this.arn
  recovery_window_in_days = var.recovery_window_days

  tags = var.tags
}

# Generated values never touch Terraform state or plans: the password is an
# ephemeral value written through a write-only argument.
ephemeral "aws_secretsmanager_random_password" "this" {
  for_each = { for k, s in var.secrets : k => s if s.generate }

  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret_version" "generated" {
  for_each = { for k, s in var.secrets : k => s if s.generate }

  secret_id                = aws_secretsmanager_secret.this[each.key].id
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.this[each.key].random_password
  secret_string_wo_version = 1
}
