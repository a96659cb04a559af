resource "aws_apigatewayv2_api" "this" {
  name          = var.name
  protocol_type = "HTTP"
  description   = "Public entry of ${var.name}: forwards to the in-cluster ingress"

  cors_configuration {
    allow_origins = var.cors_allow_origins
    allow_methods = ["GET", "POST", "OPTIONS"]
    allow_headers = ["authorization", "content-type"]
    max_age       = 3600
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Retention is set per environment in myhealth.toml (api_gateway.access_log_retention_days).
  name              = var.access_log_group
  retention_in_days = var.access_log_retention_days
  kms_key_id        = var.log_kms_key_arn

  tags = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      routeKey       = "$context.routeKey"
      status         = "$context.status"
      protocol       = "$context.protocol"
      responseLength = "$context.responseLength"
      latencyMs      = "$context.responseLatency"
      integrationErr = "$context.integrationErrorMessage"
    })
  }

  tags = var.tags
}

# --- private integration: VPC link → internal NLB → ingress pods ------------
# With a custom domain, API Gateway speaks TLS to the load balancer too (the
# domain's ACM certificate serves its listener and API Gateway verifies that
# name); without one the hop inside the VPC is TCP. The targets are pod IPs,
# registered by the AWS Load Balancer Controller from a TargetGroupBinding
# that names this target group (the chart renders it).

locals {
  backend_tls   = var.custom_domain != null
  listener_port = local.backend_tls ? 443 : 80
}

resource "aws_security_group" "link" {
  name        = "${var.name}-api-link"
  description = "API Gateway VPC link to the internal load balancer"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-api-link" })
}

resource "aws_vpc_security_group_egress_rule" "link_to_lb" {
  security_group_id            = aws_security_group.link.id
  description                  = "To the internal load balancer's listener"
  referenced_security_group_id = aws_security_group.lb.id
  ip_protocol                  = "tcp"
  from_port                    = local.listener_port
  to_port                      = local.listener_port
}

resource "aws_security_group" "lb" {
  name        = "${var.name}-ingress-lb"
  description = "Internal load balancer in front of the ingress pods"
  vpc_id      = var.vpc_id

  tags = merge(var.tags, { Name = "${var.name}-ingress-lb" })
}

resource "aws_vpc_security_group_ingress_rule" "lb_from_link" {
  security_group_id            = aws_security_group.lb.id
  description                  = "From the API Gateway VPC link"
  referenced_security_group_id = aws_security_group.link.id
  ip_protocol                  = "tcp"
  from_port                    = local.listener_port
  to_port                      = local.listener_port
}

resource "aws_vpc_security_group_egress_rule" "lb_to_targets" {
  security_group_id            = aws_security_group.lb.id
  description                  = "To the ingress pods (and their health checks)"
  referenced_security_group_id = var.target_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.target_port
  to_port                      = var.target_port
}

# The pods use their node's security group (VPC CNI without per-pod groups).
resource "aws_vpc_security_group_ingress_rule" "targets_from_lb" {
  security_group_id            = var.target_security_group_id
  description                  = "Ingress pods from the internal load balancer"
  referenced_security_group_id = aws_security_group.lb.id
  ip_protocol                  = "tcp"
  from_port                    = var.target_port
  to_port                      = var.target_port
}

resource "aws_apigatewayv2_vpc_link" "this" {
  name               = var.name
  security_group_ids = [aws_security_group.link.id]
  subnet_ids         = var.subnet_ids

  tags = var.tags
}

resource "aws_lb" "ingress" {
  #checkov:skip=CKV_AWS_91:Every request is already logged by API Gateway (JSON access logs) and the mesh; NLB access logs would only repeat them.
  #checkov:skip=CKV2_AWS_20:A network load balancer forwarding TCP has no HTTP listener to redirect; TLS terminates at API Gateway.
  #checkov:skip=CKV_AWS_150:The load balancer has no state; recreating it is the fix for a wrong one, and Terraform owns its lifecycle.
  name                             = var.load_balancer_name
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.subnet_ids
  security_groups                  = [aws_security_group.lb.id]
  enable_cross_zone_load_balancing = true

  tags = var.tags
}

resource "aws_lb_target_group" "ingress" {
  name        = var.target_group_name
  port        = var.target_port
  protocol    = "TCP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  health_check {
    protocol = "TCP"
  }

  tags = var.tags
}

resource "aws_lb_listener" "ingress" {
  #checkov:skip=CKV_AWS_2:TLS with the API's certificate when a custom domain exists; without one there is no certificate to serve, and the hop stays inside the VPC (the mesh encrypts from the gateway on).
  #checkov:skip=CKV_AWS_103:As above: the TLS policy applies when the listener speaks TLS.
  load_balancer_arn = aws_lb.ingress.arn
  port              = local.listener_port
  protocol          = local.backend_tls ? "TLS" : "TCP"
  certificate_arn   = local.backend_tls ? aws_acm_certificate_validation.this[0].certificate_arn : null
  ssl_policy        = local.backend_tls ? "ELBSecurityPolicy-TLS13-1-2-2021-06" : null

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.ingress.arn
  }

  tags = var.tags
}

resource "aws_apigatewayv2_integration" "ingress" {
  api_id             = aws_apigatewayv2_api.this.id
  integration_type   = "HTTP_PROXY"
  integration_method = "ANY"
  integration_uri    = aws_lb_listener.ingress.arn
  connection_type    = "VPC_LINK"
  connection_id      = aws_apigatewayv2_vpc_link.this.id

  dynamic "tls_config" {
    for_each = local.backend_tls ? [var.custom_domain] : []

    content {
      server_name_to_verify = tls_config.value
    }
  }
}

resource "aws_apigatewayv2_route" "default" {
  #checkov:skip=CKV_AWS_309:The api-service verifies its own JWTs (POST /auth/login must stay public); API Gateway only throttles and logs.
  api_id    = aws_apigatewayv2_api.this.id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.ingress.id}"
}

# --- optional custom domain -------------------------------------------------------

data "aws_route53_zone" "this" {
  count = var.custom_domain == null ? 0 : 1

  name         = var.hosted_zone_name
  private_zone = false
}

resource "aws_acm_certificate" "this" {
  count = var.custom_domain == null ? 0 : 1

  domain_name       = var.custom_domain
  validation_method = "DNS"

  tags = var.tags

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_route53_record" "validation" {
  for_each = var.custom_domain == null ? {} : {
    for o in aws_acm_certificate.this[0].domain_validation_options : o.domain_name => o
  }

  zone_id = data.aws_route53_zone.this[0].zone_id
  name    = each.value.resource_record_name
  type    = each.value.resource_record_type
  records = [each.value.resource_record_value]
  ttl     = 300
}

resource "aws_acm_certificate_validation" "this" {
  count = var.custom_domain == null ? 0 : 1

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for r in aws_route53_record.validation : r.fqdn]
}

resource "aws_apigatewayv2_domain_name" "this" {
  count = var.custom_domain == null ? 0 : 1

  domain_name = var.custom_domain

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.this[0].certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "this" {
  count = var.custom_domain == null ? 0 : 1

  api_id      = aws_apigatewayv2_api.this.id
  domain_name = aws_apigatewayv2_domain_name.this[0].id
  stage       = aws_apigatewayv2_stage.default.id
}

resource "aws_route53_record" "api" {
  count = var.custom_domain == null ? 0 : 1

  zone_id = data.aws_route53_zone.this[0].zone_id
  name    = var.custom_domain
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.this[0].domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.this[0].domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
