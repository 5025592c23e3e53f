"""Every AWS call the monitoring sensors make with the observer role, and the IAM action it needs.

terraform/modules/iam (`data.aws_iam_policy_document.observer`) must grant each of these;
tests/monitoring/test_observer_policy.py checks this table against the sensor code (every boto3
operation called is listed) and against the module's policy (every action is granted on an example
resource of the estate). Add a row here when a sensor calls something new.
"""

from __future__ import annotations

from typing import NamedTuple

# Example resources in the estate's naming (the main account, name_prefix "ml-clusters").
_ACCOUNT = "483026362307"
_STATE_BUCKET = f"ml-clusters-tfstate-{_ACCOUNT}"
_DATA_BUCKET = f"ml-clusters-data-{_ACCOUNT}-us-east-1"
_KEY = f"arn:aws:kms:us-east-1:{_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


class ApiCall(NamedTuple):
    service: str  # boto3 client name ("execute-api" for the SigV4-signed ParallelCluster API)
    operation: str  # boto3 method / paginator name
    action: str  # IAM action
    example_resource: str  # a resource the sensors call it on ("*" for actions without resource scoping)
    who: str  # which sensor, and why


OBSERVER_API_CALLS: tuple[ApiCall, ...] = (
    # capacity_expiry_sensor
    ApiCall("ec2", "describe_capacity_reservations", "ec2:DescribeCapacityReservations", "*", "capacity: Capacity Blocks"),
    ApiCall(
        "ec2", "describe_capacity_block_extension_offerings", "ec2:DescribeCapacityBlockExtensionOfferings", "*",
        "capacity: cheapest extension of a block inside a lead time",
    ),
    ApiCall("sagemaker", "list_training_plans", "sagemaker:ListTrainingPlans", "*", "capacity: Training Plans"),
    ApiCall("resourcegroupstaggingapi", "get_resources", "tag:GetResources", "*", "capacity/health/replication: unit tags"),
    # cluster_health_sensor
    ApiCall("eks", "list_clusters", "eks:ListClusters", "*", "health: EKS"),
    ApiCall("eks", "describe_cluster", "eks:DescribeCluster", f"arn:aws:eks:us-east-1:{_ACCOUNT}:cluster/ml-train-use1", "health, drift: EKS"),
    ApiCall("eks", "list_nodegroups", "eks:ListNodegroups", f"arn:aws:eks:us-east-1:{_ACCOUNT}:cluster/ml-train-use1", "health: EKS"),
    ApiCall(
        "eks", "describe_nodegroup", "eks:DescribeNodegroup",
        f"arn:aws:eks:us-east-1:{_ACCOUNT}:nodegroup/ml-train-use1/gpu-p5/0123abcd-0123-abcd-0123-0123456789ab", "health: EKS",
    ),
    ApiCall("sagemaker", "list_clusters", "sagemaker:ListClusters", "*", "health: HyperPod"),
    ApiCall(
        "sagemaker", "list_cluster_nodes", "sagemaker:ListClusterNodes", f"arn:aws:sagemaker:us-west-2:{_ACCOUNT}:cluster/abcdef123456",
        "health: HyperPod nodes",
    ),
    ApiCall(
        "cloudformation", "describe_stacks", "cloudformation:DescribeStacks",
        f"arn:aws:cloudformation:us-east-1:{_ACCOUNT}:stack/pc-train/0123abcd-0123-abcd-0123-0123456789ab", "health: ParallelCluster stacks",
    ),
    # Since 2023 CloudFormation also wants ListStacks for a DescribeStacks without a stack name.
    ApiCall(
        "cloudformation", "(describe_stacks without StackName)", "cloudformation:ListStacks",
        f"arn:aws:cloudformation:us-east-1:{_ACCOUNT}:stack/*/*", "health: ParallelCluster stacks, all listed",
    ),
    ApiCall(
        "execute-api", "DescribeCluster", "execute-api:Invoke", f"arn:aws:execute-api:us-east-1:{_ACCOUNT}:a1b2c3d4e5/prod/GET/v3/clusters/pc-train",
        "health: ParallelCluster API (SigV4)",
    ),
    ApiCall("fsx", "describe_file_systems", "fsx:DescribeFileSystems", f"arn:aws:fsx:us-east-1:{_ACCOUNT}:file-system/fs-0123456789abcdef0", "health, drift: FSx"),
    # s3_replication_sensor
    ApiCall("cloudwatch", "list_metrics", "cloudwatch:ListMetrics", "*", "replication: metrics with a RuleId"),
    ApiCall("cloudwatch", "get_metric_data", "cloudwatch:GetMetricData", "*", "replication: latency, pending, failed"),
    ApiCall("s3", "get_bucket_replication", "s3:GetReplicationConfiguration", f"arn:aws:s3:::{_DATA_BUCKET}", "replication, drift"),
    # drift_sensor: state files
    ApiCall("s3", "list_objects_v2", "s3:ListBucket", f"arn:aws:s3:::{_STATE_BUCKET}", "drift: list the state objects"),
    ApiCall("s3", "get_object", "s3:GetObject", f"arn:aws:s3:::{_STATE_BUCKET}/main/us-east-1/networking/terraform.tfstate", "drift: read a state"),
    ApiCall("kms", "(S3 SSE-KMS on get_object)", "kms:Decrypt", _KEY, "drift: the state objects are encrypted with the state key"),
    # drift_sensor: live attributes
    ApiCall("ec2", "describe_vpcs", "ec2:DescribeVpcs", "*", "drift: aws_vpc"),
    ApiCall("ec2", "describe_security_groups", "ec2:DescribeSecurityGroups", "*", "drift: aws_security_group"),
    ApiCall("ec2", "describe_security_group_rules", "ec2:DescribeSecurityGroupRules", "*", "drift: separate security group rules"),
    ApiCall("s3", "get_bucket_tagging", "s3:GetBucketTagging", f"arn:aws:s3:::{_DATA_BUCKET}", "drift: aws_s3_bucket"),
    ApiCall("s3", "get_bucket_versioning", "s3:GetBucketVersioning", f"arn:aws:s3:::{_DATA_BUCKET}", "drift: aws_s3_bucket_versioning"),
    ApiCall(
        "s3", "get_public_access_block", "s3:GetBucketPublicAccessBlock", f"arn:aws:s3:::{_STATE_BUCKET}", "drift: aws_s3_bucket_public_access_block"
    ),
    ApiCall("kms", "describe_key", "kms:DescribeKey", _KEY, "drift: aws_kms_key"),
)
