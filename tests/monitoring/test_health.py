"""cluster_health_sensor: EKS, HyperPod, ParallelCluster (CloudFormation) and FSx in the emulator.

The emulator cannot put a node group in DEGRADED, a HyperPod node in Failure or report FSx Lifecycle:
for those ticks the emulator's own answer is replayed through a Stubber with that one field changed.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg

from tests.monitoring.emulator import MAIN, SECONDARY, Emulator, tag_list, unit_tags
from tests.monitoring.helpers import evaluations, monitoring_defs, observations, tick
from tests.monitoring.stubs import StubbedAwsAccounts, replay

EKS = "main-account/us-east-1/eks-training"
HYPERPOD = "secondary-account/us-west-2/hyperpod-slurm"
STORAGE = "main-account/us-east-1/shared-storage"
PCLUSTER = "main-account/us-east-1/parallelcluster"


def subnet(emulator: Emulator, account: str, region: str) -> str:
    ec2 = emulator.client(account, region, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]


def seed_eks(emulator: Emulator) -> None:
    eks = emulator.client(MAIN, "us-east-1", "eks")
    sn = subnet(emulator, MAIN, "us-east-1")
    eks.create_cluster(
        name="ml-train-use1",
        version="1.31",
        roleArn=f"arn:aws:iam::{MAIN}:role/eks-cluster",
        resourcesVpcConfig={"subnetIds": [sn]},
        tags=unit_tags(EKS),
    )
    eks.create_nodegroup(
        clusterName="ml-train-use1",
        nodegroupName="gpu-p5",
        subnets=[sn],
        nodeRole=f"arn:aws:iam::{MAIN}:role/eks-node",
        scalingConfig={"minSize": 0, "maxSize": 8, "desiredSize": 2},
        tags=unit_tags(EKS),
    )


def seed_hyperpod(emulator: Emulator) -> None:
    emulator.client(SECONDARY, "us-west-2", "sagemaker").create_cluster(
        ClusterName="hp-slurm",
        InstanceGroups=[
            {
                "InstanceGroupName": "workers",
                "InstanceType": "ml.p5.48xlarge",
                "InstanceCount": 3,
                "LifeCycleConfig": {"SourceS3Uri": "s3://sagemaker-lifecycle/hp-slurm/", "OnCreate": "on_create.sh"},
                "ExecutionRole": f"arn:aws:iam::{SECONDARY}:role/hyperpod-exec",
                "ThreadsPerCore": 1,
            }
        ],
        Tags=tag_list(unit_tags(HYPERPOD)),
    )


def seed_fsx(emulator: Emulator) -> str:
    fsx = emulator.client(MAIN, "us-east-1", "fsx")
    return fsx.create_file_system(
        FileSystemType="LUSTRE",
        StorageCapacity=1200,
        SubnetIds=[subnet(emulator, MAIN, "us-east-1")],
        LustreConfiguration={"DeploymentType": "PERSISTENT_2", "PerUnitStorageThroughput": 250},
        Tags=tag_list(unit_tags(STORAGE)),
    )["FileSystem"]["FileSystemId"]


def test_eks_node_group_degraded_fails_then_recovers(emulator, estate, translator, instance):
    seed_eks(emulator)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws)

    result = tick(defs, "cluster_health_sensor", instance)
    check = evaluations(result)[EKS]
    assert check.passed, check.description
    assert observations(result)[EKS]["health/eks_nodegroups"] == 1

    real = emulator.client(MAIN, "us-east-1", "eks")
    stub = aws.stub(MAIN, "us-east-1", "eks")
    replay(stub, real, "list_clusters", {})
    replay(stub, real, "describe_cluster", {"name": "ml-train-use1"})
    replay(stub, real, "list_nodegroups", {"clusterName": "ml-train-use1"})

    def degrade(response):
        response["nodegroup"]["status"] = "DEGRADED"
        response["nodegroup"]["health"] = {
            "issues": [{"code": "AsgInstanceLaunchFailures", "message": "Insufficient capacity for p5.48xlarge", "resourceIds": ["asg-1"]}]
        }

    replay(stub, real, "describe_nodegroup", {"clusterName": "ml-train-use1", "nodegroupName": "gpu-p5"}, degrade)
    result = tick(defs, "cluster_health_sensor", instance, cursor=result.cursor)
    check = evaluations(result)[EKS]
    assert not check.passed
    assert "eks node group ml-train-use1/gpu-p5 is DEGRADED" in check.description
    assert "AsgInstanceLaunchFailures: Insufficient capacity" in check.description
    assert observations(result)[EKS]["health/eks_nodegroups_unhealthy"] == 1

    aws.unstub(MAIN, "us-east-1", "eks")  # the node group recovers (the emulator says ACTIVE)
    assert evaluations(tick(defs, "cluster_health_sensor", instance, cursor=result.cursor))[EKS].passed


def test_hyperpod_node_in_failure_fails_then_recovers(emulator, estate, translator, instance):
    seed_hyperpod(emulator)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws)

    result = tick(defs, "cluster_health_sensor", instance)
    assert evaluations(result)[HYPERPOD].passed, evaluations(result)[HYPERPOD].description
    assert observations(result)[HYPERPOD]["health/hyperpod_nodes"] == 3

    real = emulator.client(SECONDARY, "us-west-2", "sagemaker")
    stub = aws.stub(SECONDARY, "us-west-2", "sagemaker")
    replay(stub, real, "list_clusters", {})

    def one_node_fails(response):
        node = response["ClusterNodeSummaries"][1]
        node["InstanceStatus"] = {"Status": "Failure", "Message": "GPU health check failed (DCGM)"}

    replay(stub, real, "list_cluster_nodes", {"ClusterName": "hp-slurm", "MaxResults": 100}, one_node_fails)
    result = tick(defs, "cluster_health_sensor", instance, cursor=result.cursor)
    check = evaluations(result)[HYPERPOD]
    assert not check.passed
    assert "hyperpod nodes hp-slurm is 1 Failure, 2 Running" in check.description
    assert observations(result)[HYPERPOD]["health/hyperpod_nodes_not_running"] == 1

    aws.unstub(SECONDARY, "us-west-2", "sagemaker")  # HyperPod replaced the node
    assert evaluations(tick(defs, "cluster_health_sensor", instance, cursor=result.cursor))[HYPERPOD].passed


def test_fsx_lifecycle(emulator, estate, translator, instance):
    fs_id = seed_fsx(emulator)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws)

    # The emulator does not report Lifecycle: unknown (skipped, and said so), never counted healthy.
    result = tick(defs, "cluster_health_sensor", instance)
    assert STORAGE not in evaluations(result)
    assert f"fsx {fs_id}: the endpoint does not report Lifecycle" in observations(result)[STORAGE]["health/skipped"]

    real = emulator.client(MAIN, "us-east-1", "fsx")
    stub = aws.stub(MAIN, "us-east-1", "fsx")

    def lifecycle(state):
        def change(response):
            response["FileSystems"][0]["Lifecycle"] = state
            if state == "MISCONFIGURED":
                response["FileSystems"][0]["FailureDetails"] = {"Message": "data repository association unreachable"}

        return change

    replay(stub, real, "describe_file_systems", {}, lifecycle("MISCONFIGURED"))
    check = evaluations(tick(defs, "cluster_health_sensor", instance))[STORAGE]
    assert not check.passed
    assert f"fsx {fs_id} is MISCONFIGURED — data repository association unreachable" in check.description
    replay(stub, real, "describe_file_systems", {}, lifecycle("AVAILABLE"))
    check = evaluations(tick(defs, "cluster_health_sensor", instance))[STORAGE]
    assert check.passed and "1 component(s) healthy" == check.description
    aws.assert_all_consumed()


def test_parallelcluster_stack_status(emulator, estate, translator, instance):
    template = {"Resources": {"HeadNodeWaitHandle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    emulator.client(MAIN, "us-east-1", "cloudformation").create_stack(
        StackName="ml-pcluster-use1",
        TemplateBody=json.dumps(template),
        Tags=tag_list(unit_tags(PCLUSTER, **{"parallelcluster:version": "3.13.0"})),
    )
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws)
    check = evaluations(tick(defs, "cluster_health_sensor", instance))[PCLUSTER]
    assert check.passed and "1 component(s) healthy" == check.description
    assert "via CloudFormation stack status" in check.metadata["component_table"].value

    real = emulator.client(MAIN, "us-east-1", "cloudformation")
    stub = aws.stub(MAIN, "us-east-1", "cloudformation")

    def failed(response):
        response["Stacks"][0]["StackStatus"] = "UPDATE_ROLLBACK_FAILED"

    replay(stub, real, "describe_stacks", {}, failed)
    check = evaluations(tick(defs, "cluster_health_sensor", instance))[PCLUSTER]
    assert not check.passed and "UPDATE_ROLLBACK_FAILED" in check.description
    aws.unstub(MAIN, "us-east-1", "cloudformation")
    assert evaluations(tick(defs, "cluster_health_sensor", instance))[PCLUSTER].passed


def test_units_without_clusters_are_not_counted_healthy(emulator, estate, translator, instance):
    inference = "main-account/us-west-2/eks-inference"
    defs = monitoring_defs(estate, translator)
    # Never applied: "not deployed", an observation — no verdict either way.
    result = tick(defs, "cluster_health_sensor", instance)
    assert inference not in evaluations(result)
    assert observations(result)[inference]["health/note"].startswith("not deployed")

    # Applied (it has a materialization), yet no cluster carries its tag: a warning that says so.
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=dg.AssetKey(inference.split("/")), metadata={"mode": "apply"}))
    check = evaluations(tick(defs, "cluster_health_sensor", instance))[inference]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "no cluster or file system found" in check.description and "although the unit was applied" in check.description


class _PclusterApi(BaseHTTPRequestHandler):
    """A ParallelCluster API (API Gateway, IAM auth) answering DescribeCluster on loopback."""

    answer: dict = {}
    seen: list = []

    def do_GET(self):  # noqa: N802 - http.server's naming
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        body = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output clean
        pass


def test_parallelcluster_api_compute_fleet_status(emulator, estate, translator, instance):
    emulator.client(MAIN, "us-east-1", "cloudformation").create_stack(
        StackName="ml-pcluster-use1",
        TemplateBody=json.dumps({"Resources": {"Wait": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}),
        Tags=tag_list(unit_tags(PCLUSTER, **{"parallelcluster:version": "3.13.0"})),
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PclusterApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/prod"
        # The pcluster-api unit's last apply recorded its invoke URL among its outputs.
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=dg.AssetKey(["main-account", "us-east-1", "pcluster-api"]),
                metadata={"mode": "apply", "outputs": dg.MetadataValue.json({"api_invoke_url": url})},
            )
        )
        defs = monitoring_defs(estate, translator)
        _PclusterApi.answer = {"clusterName": "ml-pcluster-use1", "clusterStatus": "UPDATE_COMPLETE", "computeFleetStatus": "PROTECTED"}
        check = evaluations(tick(defs, "cluster_health_sensor", instance))[PCLUSTER]
        assert not check.passed
        assert "parallelcluster ml-pcluster-use1 is UPDATE_COMPLETE / fleet PROTECTED" in check.description
        path, authorization = _PclusterApi.seen[-1]
        assert path == "/prod/v3/clusters/ml-pcluster-use1?region=us-east-1"
        assert authorization.startswith("AWS4-HMAC-SHA256 Credential=") and "/us-east-1/execute-api/aws4_request" in authorization

        _PclusterApi.answer = {"clusterName": "ml-pcluster-use1", "clusterStatus": "UPDATE_COMPLETE", "computeFleetStatus": "RUNNING"}
        check = evaluations(tick(defs, "cluster_health_sensor", instance))[PCLUSTER]
        assert check.passed and "via ParallelCluster API" in check.metadata["component_table"].value
    finally:
        server.shutdown()
        server.server_close()


def test_hyperpod_nodes_in_transitional_states_are_noted_not_failed(emulator, estate, translator, instance):
    """Pending, SystemUpdating and DeepHealthCheckInProgress are on their way to Running (a node being
    replaced, patched or deep-health-checked): the check passes and names them; ShuttingDown and
    NotFound are broken and fail it."""
    seed_hyperpod(emulator)
    aws = StubbedAwsAccounts()
    defs = monitoring_defs(estate, translator, aws=aws)
    real = emulator.client(SECONDARY, "us-west-2", "sagemaker")
    stub = aws.stub(SECONDARY, "us-west-2", "sagemaker")

    def statuses(*values):
        def change(response):
            for node, status in zip(response["ClusterNodeSummaries"], values):
                node["InstanceStatus"] = {"Status": status}

        return change

    replay(stub, real, "list_clusters", {})
    replay(stub, real, "list_cluster_nodes", {"ClusterName": "hp-slurm", "MaxResults": 100}, statuses("Pending", "SystemUpdating", "DeepHealthCheckInProgress"))
    result = tick(defs, "cluster_health_sensor", instance)
    check = evaluations(result)[HYPERPOD]
    assert check.passed, check.description
    assert "noted" in check.description
    assert "1 DeepHealthCheckInProgress, 1 Pending, 1 SystemUpdating" in check.description
    seen = observations(result)[HYPERPOD]
    assert seen["health/hyperpod_nodes_transitional"] == 3 and seen["health/hyperpod_nodes_broken"] == 0

    for broken in ("ShuttingDown", "NotFound"):
        replay(stub, real, "list_clusters", {})
        replay(stub, real, "list_cluster_nodes", {"ClusterName": "hp-slurm", "MaxResults": 100}, statuses(broken, "Pending"))
        result = tick(defs, "cluster_health_sensor", instance, cursor=result.cursor)
        check = evaluations(result)[HYPERPOD]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR, broken
        assert f"1 {broken}" in check.description
        assert observations(result)[HYPERPOD]["health/hyperpod_nodes_broken"] == 1
    aws.assert_all_consumed()
