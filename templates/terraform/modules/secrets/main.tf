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
  name          = var.kms_alias
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

# Values are never Terraform's: the operator sets some, and `myhealthctl
# apply` writes a random value into each generated one that has none — as
# the apply role, which may write them but never read them. Refreshing a
# secret version would read its value (GetSecretValue), which a plan must
# never be able to do.
removed {
  from = aws_secretsmanager_secret_version.generated

  lifecycle {
    destroy = false
  }
}
