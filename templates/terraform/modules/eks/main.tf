data "aws_partition" "current" {}

locals {
  policy_prefix = "arn:${data.aws_partition.current.partition}:iam::aws:policy"
  oidc_issuer   = replace(aws_eks_cluster.this.identity[0].oidc[0].issuer, "https://", "")
}

# --- control plane -----------------------------------------------------------

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name                 = var.cluster_role_name
  assume_role_policy   = data.aws_iam_policy_document.cluster_assume.json
  permissions_boundary = var.permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "${local.policy_prefix}/AmazonEKSClusterPolicy"
}

data "aws_caller_identity" "current" {}

# Explicit key policy: the account (through IAM) administers and uses the key.
data "aws_iam_policy_document" "secrets_key" {
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

# Envelope encryption of Kubernetes secrets.
resource "aws_kms_key" "secrets" {
  policy                  = data.aws_iam_policy_document.secrets_key.json
  description             = "Envelope encryption of Kubernetes secrets in ${var.cluster_name}"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  tags = var.tags
}

resource "aws_kms_alias" "secrets" {
  name          = var.secrets_kms_alias
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_cloudwatch_log_group" "cluster" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment in myhealth.toml (eks.log_retention_days).
  name              = var.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  #checkov:skip=CKV_AWS_37:Log types come from myhealth.toml (eks.log_types); `myhealthctl validate` requires all five in production environments, cheaper sets are allowed elsewhere.
  name                      = var.cluster_name
  version                   = var.cluster_version
  role_arn                  = aws_iam_role.cluster.arn
  enabled_cluster_log_types = var.log_types

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = var.endpoint_private_access
    endpoint_public_access  = var.endpoint_public_access
    public_access_cidrs     = var.public_access_cidrs
  }

  encryption_config {
    resources = ["secrets"]

    provider {
      key_arn = aws_kms_key.secrets.arn
    }
  }

  # Access entries (API) plus aws-auth (CONFIG_MAP). Cluster-creator admin
  # is left at EKS's create-time default.
  access_config {
    authentication_mode = "API_AND_CONFIG_MAP"
  }

  tags = var.tags

  # Create-time only in EKS: a difference could never be applied in place,
  # only by replacing the cluster, and some EKS-compatible APIs do not report it.
  lifecycle {
    ignore_changes = [access_config[0].bootstrap_cluster_creator_admin_permissions]
  }

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_cloudwatch_log_group.cluster,
  ]
}

# --- IRSA ----------------------------------------------------------------------


resource "aws_iam_openid_connect_provider" "this" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]

  tags = var.tags
}

data "aws_iam_policy_document" "irsa_assume" {
  for_each = merge(
    var.addons.ebs_csi ? { "ebs-csi" = { namespace = "kube-system", service_account = "ebs-csi-controller-sa" } } : {},
    { for k, v in var.service_account_roles : k => { namespace = v.namespace, service_account = v.service_account } },
  )

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.this.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${each.value.namespace}:${each.value.service_account}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = data.aws_iam_policy_document.irsa_assume

  name                 = each.key == "ebs-csi" ? var.ebs_csi_role_name : var.service_account_roles[each.key].role_name
  assume_role_policy   = each.value.json
  permissions_boundary = var.permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy" "irsa" {
  for_each = var.service_account_roles

  name   = each.key
  role   = aws_iam_role.irsa[each.key].id
  policy = each.value.policy_json
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  count = var.addons.ebs_csi ? 1 : 0

  role       = aws_iam_role.irsa["ebs-csi"].name
  policy_arn = "${local.policy_prefix}/service-role/AmazonEBSCSIDriverPolicy"
}

# --- nodes ---------------------------------------------------------------------

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name                 = var.node_role_name
  assume_role_policy   = data.aws_iam_policy_document.node_assume.json
  permissions_boundary = var.permissions_boundary

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
  ])

  role       = aws_iam_role.node.name
  policy_arn = "${local.policy_prefix}/${each.value}"
}

# The nodes' own security group: what may reach the database is "the nodes",
# not everything that carries the cluster security group (control plane ENIs too).
resource "aws_security_group" "node" {
  name        = "${var.cluster_name}-node"
  description = "Managed nodes of ${var.cluster_name}; the database admits this group"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.cluster_name}-node" })
}

# Encrypted gp3 root volumes and IMDSv2 with a hop limit of 1: pods get AWS
# access through IRSA, so none of them may reach the node's credentials.
resource "aws_launch_template" "node" {
  for_each = var.node_groups

  name_prefix            = "${var.cluster_name}-${each.key}-"
  update_default_version = true

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = each.value.disk_size_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  # With security groups in the template EKS adds none itself: keep the
  # cluster group (node <-> control plane) and add the node group.
  # compact(): some EKS-compatible APIs report no cluster security group.
  vpc_security_group_ids = compact([aws_eks_cluster.this.vpc_config[0].cluster_security_group_id, aws_security_group.node.id])

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.cluster_name}-${each.key}" })
  }

  tags = var.tags
}

resource "aws_eks_node_group" "this" {
  for_each = var.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.key
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids
  instance_types  = each.value.instance_types
  capacity_type   = each.value.capacity_type
  labels          = each.value.labels

  scaling_config {
    min_size     = each.value.min_size
    desired_size = each.value.desired_size
    max_size     = each.value.max_size
  }

  update_config {
    max_unavailable = each.value.max_unavailable
  }

  launch_template {
    id      = aws_launch_template.node[each.key].id
    version = aws_launch_template.node[each.key].latest_version
  }

  dynamic "taint" {
    for_each = each.value.taints

    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  tags = var.tags

  # The cluster autoscaler owns the running size; Terraform owns the bounds.
  # remote_access is never configured (no SSH) and is create-time only, so a
  # reported block could only be "fixed" by replacing every node.
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size, remote_access]
  }

  depends_on = [aws_iam_role_policy_attachment.node]
}

# --- add-ons ---------------------------------------------------------------------

resource "aws_eks_addon" "vpc_cni" {
  count = var.addons.vpc_cni ? 1 : 0

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "vpc-cni"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  # Prefix delegation: many more pod IPs per node on small instance types.
  configuration_values = jsonencode({
    env = {
      ENABLE_PREFIX_DELEGATION = "true"
      WARM_PREFIX_TARGET       = "1"
    }
  })

  tags = var.tags
}

resource "aws_eks_addon" "kube_proxy" {
  count = var.addons.kube_proxy ? 1 : 0

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "kube-proxy"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags
}

# CoreDNS and the EBS CSI controller run as pods: they need nodes first.
resource "aws_eks_addon" "coredns" {
  count = var.addons.coredns ? 1 : 0

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "coredns"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags

  depends_on = [aws_eks_node_group.this]
}

resource "aws_eks_addon" "ebs_csi" {
  count = var.addons.ebs_csi ? 1 : 0

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "aws-ebs-csi-driver"
  service_account_role_arn    = aws_iam_role.irsa["ebs-csi"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  tags = var.tags

  depends_on = [aws_eks_node_group.this]
}

# --- the release job's way in -------------------------------------------------

# An access entry without an access policy: its Kubernetes group's RBAC (a
# Role in ArgoCD's namespace, rendered with the environment's ArgoCD
# objects) is all it may do.
resource "aws_eks_access_entry" "release" {
  cluster_name      = aws_eks_cluster.this.name
  principal_arn     = var.release_principal_arn
  kubernetes_groups = [var.release_group]
  type              = "STANDARD"

  tags = var.tags
}
