"""The `terragrunt_units` multi-asset run in-process (dg.materialize) against the terragrunt double."""

from __future__ import annotations

import threading

import dagster as dg
import pytest

from ml_clusters.assets.terragrunt_units import build_unit_defs
from ml_clusters.resources.terragrunt import TerragruntCli
from ml_clusters.translator import TerragruntTranslator

from .double import FSX_REPLACE

NET_E, KMS, STORAGE, CLUSTER = "acme/us-east-1/networking", "acme/us-east-1/kms", "acme/us-east-1/storage", "acme/us-east-1/cluster"
NET_W, REPLICA = "acme/us-west-2/networking", "acme/us-west-2/replica"
EKS_CREATE = {"address": "aws_eks_cluster.this", "type": "aws_eks_cluster", "actions": ["create"]}


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey(path.split("/"))


def run(estate, instance, *, translator=None, select=None, resource=None, **config) -> dg.ExecuteInProcessResult:
    defs = build_unit_defs(estate, translator or TerragruntTranslator())
    (assets,) = defs.assets
    return dg.materialize(
        [assets],
        resources={"terragrunt": resource or TerragruntCli(lock_timeout="0s", lock_retry_backoff_seconds=0.01)},
        instance=instance,
        selection=[key(p) for p in select] if select else None,
        run_config={"ops": {"terragrunt_units": {"config": {"parallelism": 6, **config}}}},
        raise_on_error=False,
    )


def events(result, type_: dg.DagsterEventType):
    return [e for e in result.all_events if e.event_type == type_]


def failure_message(result) -> str:
    (failure,) = events(result, dg.DagsterEventType.STEP_FAILURE)
    return failure.step_failure_data.error.message


def checks(instance, path: str) -> list:
    records = instance.event_log_storage.get_asset_check_execution_history(dg.AssetCheckKey(key(path), "plan_safe"), limit=10)
    return [r.evaluation for r in records if r.evaluation is not None]


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst


def test_plan_records_no_materialization_and_keeps_the_plan(double, small_estate, instance, tmp_path):
    double.script({STORAGE: {"changes": [EKS_CREATE]}})
    result = run(small_estate, instance, mode="plan")
    assert result.success
    assert events(result, dg.DagsterEventType.ASSET_MATERIALIZATION) == []
    for path in small_estate.units:
        assert instance.get_latest_materialization_event(key(path)) is None
    observations = {e.asset_key: e.event_specific_data.asset_observation.metadata for e in events(result, dg.DagsterEventType.ASSET_OBSERVATION)}
    assert set(observations) == {key(p) for p in small_estate.units}
    storage = observations[key(STORAGE)]
    assert storage["to_add"].value == 1 and storage["mode"].value == "plan"
    assert storage["changed_resources"].value == [{"address": "aws_eks_cluster.this", "type": "aws_eks_cluster", "action": "create"}]
    code_version = small_estate.units[STORAGE].content_hash
    plan_file = tmp_path / "plans" / "ml-clusters-plans" / STORAGE / code_version / f"{result.run_id}.tfplan"
    assert storage["plan_file"].value == str(plan_file) and plan_file.exists()
    assert checks(instance, STORAGE)[0].passed
    assert double.calls("apply") == []


def test_apply_uses_the_saved_plan_and_records_outputs(double, small_estate, instance):
    double.script({CLUSTER: {"changes": [EKS_CREATE], "outputs": {
        "endpoint": {"value": "https://eks.example"}, "admin_token": {"value": "tok-very-secret", "sensitive": True}}}})
    plan_run = run(small_estate, instance, mode="plan", select=[CLUSTER])
    assert plan_run.success
    result = run(small_estate, instance, mode="apply", select=[CLUSTER])
    assert result.success, failure_message(result)
    assert len(double.calls("plan", CLUSTER)) == 1  # the plan run's: apply did not plan again
    assert len(double.calls("apply", CLUSTER)) == 1
    materialization = instance.get_latest_materialization_event(key(CLUSTER)).asset_materialization
    metadata = materialization.metadata
    assert metadata["outputs"].value == {"admin_token": "(sensitive)", "endpoint": "https://eks.example"}
    assert metadata["plan_source"].value.startswith(f"saved plan from run {plan_run.run_id}")
    assert metadata["to_add"].value == 1 and metadata["applied"].value is True
    assert checks(instance, CLUSTER)[0].passed


def test_apply_plans_again_when_the_code_version_changed(double, small_estate, instance):
    double.script({CLUSTER: {"changes": [EKS_CREATE]}})
    assert run(small_estate, instance, mode="plan", select=[CLUSTER]).success

    class Edited(TerragruntTranslator):
        def get_code_version(self, unit):
            return "edited-" + unit.content_hash

    result = run(small_estate, instance, mode="apply", select=[CLUSTER], translator=Edited())
    assert result.success
    assert len(double.calls("plan", CLUSTER)) == 2
    assert instance.get_latest_materialization_event(key(CLUSTER)).asset_materialization.metadata["plan_source"].value == "plan made in this run"


def test_apply_plans_again_when_an_upstream_changed_after_the_plan(double, small_estate, instance):
    double.script({NET_E: {"changes": [EKS_CREATE]}, CLUSTER: {"changes": [EKS_CREATE]}})
    assert run(small_estate, instance, mode="plan", select=[NET_E, CLUSTER]).success
    assert run(small_estate, instance, mode="apply", select=[NET_E]).success
    result = run(small_estate, instance, mode="apply", select=[CLUSTER])
    assert result.success
    assert len(double.calls("plan", CLUSTER)) == 2
    logs = [e.message for e in result.get_step_success_events() or []] + [
        r.user_message for r in instance.all_logs(result.run_id)
    ]
    assert any(f"upstream {NET_E} was applied after the saved plan was made" in m for m in logs)


def _step_logs(instance, result) -> list[str]:
    return [r.user_message for r in instance.all_logs(result.run_id)]


def test_an_upstream_change_hidden_by_a_later_no_op_apply_still_invalidates_the_plan(double, small_estate, instance):
    # upstream applies changes, then applies again with nothing to do: its latest materialization says
    # "applied: false", yet the downstream plan was made against the outputs before the first apply.
    double.script({NET_E: {"changes": [EKS_CREATE]}, CLUSTER: {"changes": [EKS_CREATE]}})
    assert run(small_estate, instance, mode="plan", select=[NET_E, CLUSTER]).success
    assert run(small_estate, instance, mode="apply", select=[NET_E]).success
    assert run(small_estate, instance, mode="apply", select=[NET_E]).success  # no changes left
    latest = instance.get_latest_materialization_event(key(NET_E)).asset_materialization
    assert latest.metadata["applied"].value is False
    result = run(small_estate, instance, mode="apply", select=[CLUSTER])
    assert result.success
    assert len(double.calls("plan", CLUSTER)) == 2  # planned again, not the saved plan
    assert instance.get_latest_materialization_event(key(CLUSTER)).asset_materialization.metadata["plan_source"].value == "plan made in this run"


def test_a_failed_upstream_apply_still_invalidates_the_dependents_saved_plans(double, small_estate, instance):
    # OpenTofu writes state as resources complete: an apply that fails half-way may have changed
    # outputs the downstream plan read. No materialization is recorded, so only the attempt says so.
    double.script({NET_E: {"changes": [EKS_CREATE]}, CLUSTER: {"changes": [EKS_CREATE]}})
    assert run(small_estate, instance, mode="plan", select=[NET_E, CLUSTER]).success
    double.script({NET_E: {"changes": [EKS_CREATE], "fail": {"command": "apply", "message": "Error: creating subnet"}},
                   CLUSTER: {"changes": [EKS_CREATE]}})
    assert not run(small_estate, instance, mode="apply", select=[NET_E]).success
    result = run(small_estate, instance, mode="apply", select=[CLUSTER])
    assert result.success
    assert len(double.calls("plan", CLUSTER)) == 2
    assert any(f"an apply of upstream {NET_E} ran after the saved plan was made" in m for m in _step_logs(instance, result))


def test_an_apply_that_fails_half_way_is_reported_on_the_asset(double, small_estate, instance):
    double.script({NET_E: {"changes": [EKS_CREATE], "fail": {"command": "apply", "message": "Error: creating subnet: quota"}}})
    result = run(small_estate, instance, mode="apply", select=[NET_E])
    assert not result.success
    assert instance.get_latest_materialization_event(key(NET_E)) is None  # nothing recorded as applied
    (record,) = instance.fetch_observations(key(NET_E), limit=5).records
    observation = record.asset_observation
    assert observation.metadata["mode"].value == "apply (failed)"
    assert observation.metadata["state_may_have_changed"].value is True
    assert "creating subnet: quota" in observation.metadata["error"].value
    assert "some resources may have changed" in observation.description


def test_a_plan_that_fails_is_not_reported_as_a_partial_apply(double, small_estate, instance):
    double.script({NET_E: {"changes": [EKS_CREATE], "fail": {"command": "plan", "message": "Error: no credentials"}}})
    assert not run(small_estate, instance, mode="apply", select=[NET_E]).success
    assert instance.fetch_observations(key(NET_E), limit=5).records == []


def test_plans_of_earlier_code_versions_are_removed_when_a_new_plan_is_saved(double, small_estate, instance, tmp_path):
    double.script({KMS: {"changes": [{"address": "aws_kms_key.this", "type": "aws_kms_key", "actions": ["create"]}]}})
    unit_store = tmp_path / "plans" / "ml-clusters-plans" / KMS

    class Edited(TerragruntTranslator):
        def get_code_version(self, unit):
            return "edited-" + unit.content_hash

    assert run(small_estate, instance, mode="plan", select=[KMS]).success
    assert len(list(unit_store.glob("*/*.tfplan"))) == 1
    second = run(small_estate, instance, mode="plan", select=[KMS], translator=Edited())
    assert second.success
    assert [p.relative_to(unit_store).as_posix() for p in unit_store.glob("*/*.tfplan")] == [
        f"edited-{small_estate.units[KMS].content_hash}/{second.run_id}.tfplan"
    ]


def test_dependency_order_holds_and_independent_units_overlap(double, small_estate, instance):
    # Each root's plan waits, mid-command, until the other roots have started: it can only finish if
    # they run at the same time (a serial executor would leave the gate "timed out").
    double.script(
        {NET_E: {"wait_for_start": [KMS, NET_W]}, KMS: {"wait_for_start": [NET_E]}, NET_W: {"wait_for_start": [NET_E]}},
        defaults={"changes": [EKS_CREATE]},
    )
    result = run(small_estate, instance, mode="apply")
    assert result.success, failure_message(result)
    for dependent, dependency in small_estate.edges:
        assert double.sequence_span(dependency)[1] < double.sequence_span(dependent)[0], f"{dependent} started before {dependency} ended"
    for root in (NET_E, KMS, NET_W):
        (plan,) = double.calls("plan", root)
        assert plan["gate"] == "opened", f"{root} did not run alongside the other roots"
    yielded = [e.asset_key for e in events(result, dg.DagsterEventType.ASSET_MATERIALIZATION)]
    assert set(yielded) == {key(p) for p in small_estate.units}


def test_guard_blocks_an_fsx_replacement_and_skips_dependents(double, small_estate, instance):
    double.script({STORAGE: {"changes": [FSX_REPLACE]}})
    result = run(small_estate, instance, mode="apply")
    assert not result.success
    assert double.calls("apply", STORAGE) == []  # never applied
    assert instance.get_latest_materialization_event(key(STORAGE)) is None
    (check,) = checks(instance, STORAGE)
    assert not check.passed
    assert check.metadata["blocked"].value == [{"address": "aws_fsx_lustre_file_system.this", "type": "aws_fsx_lustre_file_system", "action": "replace"}]
    message = failure_message(result)
    assert f"FAILED  {STORAGE}: destructive-change guard: plan would replace aws_fsx_lustre_file_system.this" in message
    assert f"SKIPPED {CLUSTER}: upstream {STORAGE} failed" in message
    assert f"SKIPPED {REPLICA}: upstream {STORAGE} failed" in message
    assert instance.get_latest_materialization_event(key(KMS)) is not None  # the rest went on


def test_guard_lets_an_allow_listed_replacement_through(double, small_estate, instance):
    double.script({STORAGE: {"changes": [FSX_REPLACE]}})
    allow = [{"unit": STORAGE, "address": "aws_fsx_lustre_file_system.this"}]
    result = run(small_estate, instance, mode="apply", select=[STORAGE], allow_destroy=allow)
    assert result.success, failure_message(result)
    assert len(double.calls("apply", STORAGE)) == 1
    (check,) = checks(instance, STORAGE)
    assert check.passed and check.metadata["allowed"].value[0]["address"] == "aws_fsx_lustre_file_system.this"
    assert instance.get_latest_materialization_event(key(STORAGE)).asset_materialization.metadata["to_replace"].value == 1


def test_plan_mode_flags_a_destructive_plan_with_the_blocking_check(double, small_estate, instance):
    double.script({STORAGE: {"changes": [FSX_REPLACE]}})
    result = run(small_estate, instance, mode="plan")
    assert not result.success  # the blocking check fails the step, so CI goes red
    assert "plan_safe" in failure_message(result)
    assert not checks(instance, STORAGE)[0].passed
    assert len(double.calls("plan")) == len(small_estate.units)  # every unit still planned


def test_a_failed_unit_names_itself_its_stderr_and_the_skipped_dependents(double, small_estate, instance):
    double.script({KMS: {"changes": [EKS_CREATE], "fail": {"command": "apply", "message": "Error: creating KMS Key: AccessDeniedException"}}})
    result = run(small_estate, instance, mode="apply")
    message = failure_message(result)
    assert "1 unit(s) failed, 3 skipped, 2 succeeded." in message
    assert f"FAILED  {KMS}: `terragrunt run -- apply -input=false` exited with code 1" in message
    assert "Error: creating KMS Key: AccessDeniedException" in message
    for path in (STORAGE, CLUSTER, REPLICA):
        assert f"SKIPPED {path}" in message
    assert instance.get_latest_materialization_event(key(NET_W)) is not None


def test_missing_terragrunt_fails_at_once(double, small_estate, instance, monkeypatch):
    monkeypatch.setenv("ML_CLUSTERS_TERRAGRUNT", "terragrunt-not-installed-here")
    result = run(small_estate, instance, mode="plan")
    message = failure_message(result)
    assert "Terragrunt >= 1.0 and OpenTofu >= 1.10" in message
    assert double.records() == []


def test_unknown_unit_in_the_allow_list_is_a_one_line_error(double, small_estate, instance):
    result = run(small_estate, instance, mode="apply", allow_destroy=[{"unit": "acme/us-east-1/strage", "address": "x"}])
    assert "allow_destroy names 'acme/us-east-1/strage', which is not a unit" in failure_message(result)
    assert double.records() == []


def test_only_the_selected_units_run(double, small_estate, instance):
    result = run(small_estate, instance, mode="plan", select=[CLUSTER])
    assert result.success
    assert {c["unit"] for c in double.calls()} == {CLUSTER}


def test_terragrunt_output_streams_into_the_dagster_log(double, small_estate, instance, tmp_path):
    go = tmp_path / "go"
    # The double's plan prints its first progress line, then waits for `go`; `go` appears only once
    # that line is in the run's event log. So the plan can only finish normally if it was streamed.
    double.script({STORAGE: {"changes": [FSX_REPLACE], "drift": [FSX_REPLACE], "wait_for_file": str(go)}})
    stop = threading.Event()

    def open_gate_when_logged() -> None:
        while not stop.wait(0.05):
            for dagster_run in instance.get_runs(limit=1):
                if any("Refreshing state" in r.user_message for r in instance.all_logs(dagster_run.run_id)):
                    go.touch()
                    return

    watcher = threading.Thread(target=open_gate_when_logged, daemon=True)
    watcher.start()
    try:
        result = run(small_estate, instance, mode="plan", select=[STORAGE], allow_destroy=[])
    finally:
        stop.set()
        watcher.join(10)
    (plan_call,) = double.calls("plan", STORAGE)
    assert plan_call["gate"] == "opened", "the progress line reached the Dagster log only after terragrunt exited"
    logs = [r.user_message for r in instance.all_logs(result.run_id) if f"[{STORAGE}]" in r.user_message]
    assert any("# aws_fsx_lustre_file_system.this must be replaced" in m for m in logs)


def test_unit_timeout_from_run_config(double, small_estate, instance):
    double.script({KMS: {"sleep": 30}})
    result = run(small_estate, instance, mode="plan", select=[KMS], unit_timeout_minutes=0.01)
    assert "hit the unit timeout of 0.6s" in failure_message(result)
    assert double.lock_files() == []


def test_held_lock_is_retried_inside_a_run(double, small_estate, instance):
    double.script({KMS: {"lock_held": 1}})
    result = run(small_estate, instance, mode="plan", select=[KMS])
    assert result.success
    assert [c["exit"] for c in double.calls("plan", KMS)] == [1, 0]


def test_plan_and_apply_jobs_preset_the_mode_and_tag_the_run(double, small_estate, instance):
    double.script({KMS: {"changes": [{"address": "aws_kms_key.this", "type": "aws_kms_key", "actions": ["create"]}]}})
    defs = build_unit_defs(small_estate, TerragruntTranslator())
    plan = defs.resolve_job_def("terragrunt_plan").execute_in_process(
        instance=instance, asset_selection=[key(KMS)]
    )
    assert plan.success and instance.get_run_by_id(plan.run_id).tags["ml-clusters/mode"] == "plan"
    assert instance.get_latest_materialization_event(key(KMS)) is None
    apply = defs.resolve_job_def("terragrunt_apply").execute_in_process(
        instance=instance, asset_selection=[key(KMS)]
    )
    assert apply.success and instance.get_run_by_id(apply.run_id).tags["ml-clusters/mode"] == "apply"
    assert instance.get_latest_materialization_event(key(KMS)) is not None
    assert [c["command"] for c in double.calls()] == ["plan", "show", "apply", "output"]


def test_the_real_live_tree_plans_in_dependency_order_across_accounts(double, instance):
    from ml_clusters.estate import default_live_dir, load_estate

    estate = load_estate(default_live_dir(), cache=False)
    double.script({}, defaults={"changes": [EKS_CREATE]})
    result = run(estate, instance, mode="plan", parallelism=8)
    assert result.success, failure_message(result)
    assert {c["unit"] for c in double.calls("plan")} == set(estate.units)
    cross_account = [(a, b) for a, b in estate.edges if a.split("/")[0] != b.split("/")[0]]
    assert cross_account, "the live tree should have cross-account edges"
    for dependent, dependency in estate.edges:
        assert double.sequence_span(dependency)[1] < double.sequence_span(dependent)[0], f"{dependent} started before {dependency} ended"
    assert events(result, dg.DagsterEventType.ASSET_MATERIALIZATION) == []


def test_a_saved_plan_made_stale_outside_dagster_is_planned_again(double, small_estate, instance, tmp_path):
    double.script({KMS: {"changes": [{"address": "aws_kms_key.this", "type": "aws_kms_key", "actions": ["create"]}]}})
    assert run(small_estate, instance, mode="plan", select=[KMS]).success
    # Someone applies the unit by hand: the state moves on and the saved plan is now stale.
    cli, unit_dir = TerragruntCli(), small_estate.units[KMS].dir
    cli.plan(unit_dir, tmp_path / "by-hand.tfplan")
    cli.apply(unit_dir, tmp_path / "by-hand.tfplan")
    result = run(small_estate, instance, mode="apply", select=[KMS])
    assert result.success, failure_message(result)
    assert [c["exit"] for c in double.calls("apply", KMS)] == [0, 1]  # by hand, then tofu refusing the stale plan
    metadata = instance.get_latest_materialization_event(key(KMS)).asset_materialization.metadata
    assert metadata["plan_source"].value == "plan made in this run (the saved plan was stale)"
    assert metadata["applied"].value is False  # the fresh plan found the change already applied
    store = tmp_path / "plans" / "ml-clusters-plans" / KMS / small_estate.units[KMS].content_hash
    assert list(store.glob("*.tfplan")) == []  # the stale saved plan was dropped, the fresh one consumed


def test_a_secret_in_extra_env_via_env_var_reaches_terragrunt_and_nothing_dagster_stores(double, small_estate, tmp_path, monkeypatch):
    secret = "db-pass-7c1e9a4f"
    monkeypatch.setenv("ML_TEST_DB_PASSWORD", secret)
    double.script({KMS: {"record_env": ["TF_VAR_db_password", "TF_LOG"]}})
    resource = TerragruntCli(extra_env={"TF_VAR_db_password": dg.EnvVar("ML_TEST_DB_PASSWORD"), "TF_LOG": "info"})
    assert secret not in repr(resource) and "ML_TEST_DB_PASSWORD" not in repr(resource)  # extra_env is kept out of repr
    storage = tmp_path / "dagster"
    storage.mkdir()
    with dg.instance_for_test(temp_dir=str(storage)) as inst:
        result = run(small_estate, inst, mode="plan", select=[KMS], resource=resource)
        assert result.success, failure_message(result)
    (started,) = double.started("plan", KMS)
    assert started["env"] == {"TF_VAR_db_password": secret, "TF_LOG": "info"}  # resolved at run time
    files = [p for p in storage.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)  # run storage (run config, job snapshot) and event log
    for path in files:
        assert secret.encode() not in path.read_bytes(), f"the extra_env secret was stored in {path}"


def test_a_new_plan_supersedes_the_saved_one_and_the_old_plan_file_is_removed(double, small_estate, instance, tmp_path):
    # Plan files hold sensitive values: each new plan replaces the unit's saved plan on disk, and an
    # apply consumes its plan, so nothing piles up in the store.
    double.script({KMS: {"changes": [{"address": "aws_kms_key.this", "type": "aws_kms_key", "actions": ["create"]}]}})
    store = tmp_path / "plans" / "ml-clusters-plans" / KMS / small_estate.units[KMS].content_hash
    first = run(small_estate, instance, mode="plan", select=[KMS])
    second = run(small_estate, instance, mode="plan", select=[KMS])
    assert first.success and second.success
    assert sorted(p.name for p in store.glob("*.tfplan")) == [f"{second.run_id}.tfplan"]
    assert run(small_estate, instance, mode="apply", select=[KMS]).success
    assert list(store.glob("*.tfplan")) == []


def test_a_failed_new_plan_leaves_no_plan_file_behind(double, small_estate, instance, tmp_path):
    # The failed plan's own file and the saved plan it replaced are both unrecorded from then on:
    # neither may stay on disk with its sensitive values.
    create = {"address": "aws_kms_key.this", "type": "aws_kms_key", "actions": ["create"]}
    double.script({KMS: {"changes": [create]}})
    store = tmp_path / "plans" / "ml-clusters-plans" / KMS / small_estate.units[KMS].content_hash
    assert run(small_estate, instance, mode="plan", select=[KMS]).success
    assert len(list(store.glob("*.tfplan"))) == 1
    double.script({KMS: {"changes": [create], "fail": {"command": "plan", "message": "Error: no valid credential sources"}}})
    failed = run(small_estate, instance, mode="plan", select=[KMS])
    assert not failed.success and "no valid credential sources" in failure_message(failed)
    assert list(store.glob("*.tfplan")) == [] and not (store / "record.json").exists()
