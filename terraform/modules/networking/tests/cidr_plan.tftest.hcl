# Runs with OpenTofu >= 1.8 (or Terraform >= 1.7): `tofu test` from this module's directory.
# Mocked providers: no AWS credentials or network needed. Checks the subnet CIDR math and the EFA
# security group rules.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
      name   = "us-east-1"
    }
  }
}

variables {
  name     = "ml-main-us-east-1"
  vpc_cidr = "10.0.0.0/16"
  azs      = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

run "compute_subnets_are_slash_18_quarters" {
  command = plan

  assert {
    condition     = local.private_subnets == ["10.0.0.0/18", "10.0.64.0/18", "10.0.128.0/18"]
    error_message = "private subnets must be the first three /18 quarters of the VPC"
  }
}

run "public_subnets_are_slash_24_in_the_last_quarter" {
  command = plan

  assert {
    condition     = local.public_subnets == ["10.0.192.0/24", "10.0.193.0/24", "10.0.194.0/24"]
    error_message = "public subnets must be /24s from 10.0.192.0 on"
  }
}

run "subnets_never_overlap" {
  command = plan

  # cidrcontains() needs OpenTofu >= 1.8.
  assert {
    condition = alltrue(flatten([
      for pub in local.public_subnets : [
        for priv in local.private_subnets : !cidrcontains(priv, cidrhost(pub, 0))
      ]
    ]))
    error_message = "a public subnet overlaps a compute subnet"
  }
}

run "other_account_region_cidr" {
  command = plan

  variables {
    vpc_cidr = "10.3.0.0/16"
    azs      = ["us-west-2a", "us-west-2b"]
  }

  assert {
    condition     = local.private_subnets == ["10.3.0.0/18", "10.3.64.0/18"] && local.public_subnets == ["10.3.192.0/24", "10.3.193.0/24"]
    error_message = "subnet plan must follow the VPC CIDR and the number of AZs"
  }
}

run "efa_group_only_talks_to_itself" {
  command = plan

  assert {
    condition     = aws_vpc_security_group_ingress_rule.efa_self.ip_protocol == "-1" && aws_vpc_security_group_egress_rule.efa_self.ip_protocol == "-1"
    error_message = "EFA rules must allow all protocols"
  }

  assert {
    condition     = aws_vpc_security_group_egress_rule.efa_self.cidr_ipv4 == null
    error_message = "the EFA security group must not have a CIDR (0.0.0.0/0) egress rule"
  }

  assert {
    condition     = aws_placement_group.gpu.strategy == "cluster"
    error_message = "GPU placement group must use the cluster strategy"
  }
}

run "rejects_a_non_slash_16" {
  command = plan

  variables {
    vpc_cidr = "10.0.0.0/20"
  }

  expect_failures = [var.vpc_cidr]
}

run "rejects_four_azs" {
  command = plan

  variables {
    azs = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"]
  }

  expect_failures = [var.azs]
}
