terraform {
  required_version = ">= 1.10"

  required_providers {
    aws-parallelcluster = {
      source  = "aws-tf/aws-parallelcluster"
      version = "~> 1.1"
    }
  }
}
