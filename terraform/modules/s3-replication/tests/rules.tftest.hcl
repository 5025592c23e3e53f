# Runs with OpenTofu >= 1.8 (or Terraform >= 1.7): `tofu test` from this module's directory.
# Mocked provider: no AWS credentials or network needed. Checks the replication rule matrix.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "483026362307"
    }
  }

  mock_data "aws_region" {
    defaults = {
      region = "us-east-1"
      name   = "us-east-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

variables {
  source_bucket_name = "ml-clusters-data-483026362307-us-east-1"
  source_bucket_arn  = "arn:aws:s3:::ml-clusters-data-483026362307-us-east-1"
  source_kms_key_arn = "arn:aws:kms:us-east-1:483026362307:key/11111111-1111-1111-1111-111111111111"
  destinations = [
    {
      name        = "main-us-west-2"
      bucket_arn  = "arn:aws:s3:::ml-clusters-data-483026362307-us-west-2"
      region      = "us-west-2"
      account_id  = "483026362307"
      kms_key_arn = "arn:aws:kms:us-west-2:483026362307:key/22222222-2222-2222-2222-222222222222"
    },
    {
      name        = "secondary-us-east-1"
      bucket_arn  = "arn:aws:s3:::ml-clusters-data-159553542841-us-east-1"
      region      = "us-east-1"
      account_id  = "159553542841"
      kms_key_arn = "arn:aws:kms:us-east-1:159553542841:key/33333333-3333-3333-3333-333333333333"
    },
    {
      name        = "secondary-us-west-2"
      bucket_arn  = "arn:aws:s3:::ml-clusters-data-159553542841-us-west-2"
      region      = "us-west-2"
      account_id  = "159553542841"
      kms_key_arn = "arn:aws:kms:us-west-2:159553542841:key/44444444-4444-4444-4444-444444444444"
    },
  ]
}

run "one_rule_per_destination_and_prefix" {
  command = plan

  assert {
    condition = [for r in local.rules : r.id] == [
      "main-us-west-2-datasets", "main-us-west-2-checkpoints",
      "secondary-us-east-1-datasets", "secondary-us-east-1-checkpoints",
      "secondary-us-west-2-datasets", "secondary-us-west-2-checkpoints",
    ]
    error_message = "expected one rule per (destination, prefix) in destination-major order"
  }

  assert {
    condition     = length(aws_s3_bucket_replication_configuration.this.rule) == 6
    error_message = "the replication configuration must carry all six rules"
  }
}

run "priorities_are_unique_and_ordered" {
  command = plan

  assert {
    condition     = [for r in local.rules : r.priority] == [1, 2, 3, 4, 5, 6]
    error_message = "priorities must be 1..n without gaps or duplicates"
  }
}

run "storage_class_follows_the_prefix" {
  command = plan

  assert {
    condition = alltrue([
      for r in local.rules :
      (r.prefix == "datasets/" && r.storage_class == "STANDARD_IA") || (r.prefix == "checkpoints/" && r.storage_class == "GLACIER_IR")
    ])
    error_message = "datasets/ must land in STANDARD_IA and checkpoints/ in GLACIER_IR"
  }
}

run "ownership_translation_only_across_accounts" {
  command = plan

  assert {
    condition     = [for r in local.rules : r.cross_account] == [false, false, true, true, true, true]
    error_message = "only the secondary-account destinations are cross-account"
  }

  assert {
    condition = alltrue([
      for r in aws_s3_bucket_replication_configuration.this.rule :
      length(r.destination[0].access_control_translation) == (r.destination[0].account == null ? 0 : 1)
    ])
    error_message = "access_control_translation { owner = Destination } must be set exactly on cross-account rules"
  }

  assert {
    condition     = [for r in local.rules : r.cross_region] == [true, true, false, false, true, true]
    error_message = "cross-region flags are wrong"
  }
}

run "rtc_and_metrics_at_15_minutes_on_every_rule" {
  command = plan

  assert {
    condition = alltrue([
      for r in aws_s3_bucket_replication_configuration.this.rule :
      r.destination[0].replication_time[0].status == "Enabled" &&
      r.destination[0].replication_time[0].time[0].minutes == 15 &&
      r.destination[0].metrics[0].status == "Enabled" &&
      r.destination[0].metrics[0].event_threshold[0].minutes == 15
    ])
    error_message = "every rule needs Replication Time Control (15 min) and metrics"
  }
}

run "replicas_use_the_destination_key" {
  command = plan

  assert {
    condition = alltrue([
      for r in local.rules : startswith(r.kms_key_arn, "arn:aws:kms:${r.region}:${r.account_id}:")
    ])
    error_message = "each rule must encrypt replicas with its destination's key"
  }
}

run "rtc_threshold_is_fixed" {
  command = plan

  variables {
    replication_time_minutes = 30
  }

  expect_failures = [var.replication_time_minutes]
}

run "duplicate_destination_names_are_rejected" {
  command = plan

  variables {
    destinations = [
      {
        name        = "dup"
        bucket_arn  = "arn:aws:s3:::a-bucket"
        region      = "us-west-2"
        account_id  = "483026362307"
        kms_key_arn = "arn:aws:kms:us-west-2:483026362307:key/x"
      },
      {
        name        = "dup"
        bucket_arn  = "arn:aws:s3:::b-bucket"
        region      = "us-west-2"
        account_id  = "159553542841"
        kms_key_arn = "arn:aws:kms:us-west-2:159553542841:key/y"
      },
    ]
  }

  expect_failures = [var.destinations]
}
