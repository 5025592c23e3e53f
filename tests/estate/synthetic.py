"""Synthetic live trees shaped like the real one (root.hcl, _envcommon, account/region files,
dependency blocks in includes, dependencies.paths), for tests and benchmarks/graph_load.py."""

from __future__ import annotations

from pathlib import Path

ROOT_HCL = '''locals {
  account_vars = read_terragrunt_config(find_in_parent_folders("account.hcl"))
  region_vars  = read_terragrunt_config(find_in_parent_folders("region.hcl"))
  account_name = local.account_vars.locals.account_name
  aws_region   = local.region_vars.locals.aws_region
}

remote_state {
  backend = "s3"
  config = {
    bucket       = "tfstate-${local.account_vars.locals.account_id}"
    key          = "${local.account_name}/${local.aws_region}/${basename(get_terragrunt_dir())}/terraform.tfstate"
    region       = "us-east-1"
    encrypt      = true
    use_lockfile = true
  }
}

inputs = {
  unit_tag = path_relative_to_include()
}
'''

ENVCOMMON = {
    "networking": '''locals {
  modules = "${dirname(find_in_parent_folders("root.hcl"))}/../modules"
}
terraform {
  source = "${local.modules}//networking"
}
inputs = {
  cidr = "10.0.0.0/16"
}
''',
    "storage": '''terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//storage"
}
dependency "networking" {
  config_path = "${get_terragrunt_dir()}/../networking"
  mock_outputs = { vpc_id = "vpc-mock" }
  mock_outputs_allowed_terraform_commands = ["validate", "plan"]
}
inputs = {
  vpc_id = dependency.networking.outputs.vpc_id
}
''',
    "cluster": '''terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//cluster"
}
dependency "networking" {
  config_path = "../networking"
}
dependency "storage" {
  config_path = "../storage"
}
inputs = {
  vpc_id     = dependency.networking.outputs.vpc_id
  filesystem = dependency.storage.outputs.fs_id
}
''',
}

UNIT = '''include "root" {
  path = find_in_parent_folders("root.hcl")
}
include "envcommon" {
  path   = "${dirname(find_in_parent_folders("root.hcl"))}/_envcommon/%(component)s.hcl"
  expose = true
}
%(extra)s
inputs = {
  name = "%(name)s"
}
'''


def write_tree(base: Path, units: int, accounts: int = 2, regions: int = 2) -> Path:
    """Write a live tree with about `units` units under base/live (modules under base/modules)."""
    live = base / "live"
    (live / "_envcommon").mkdir(parents=True, exist_ok=True)
    (live / "root.hcl").write_text(ROOT_HCL)
    for name, text in ENVCOMMON.items():
        (live / "_envcommon" / f"{name}.hcl").write_text(text)
        module = base / "modules" / name
        module.mkdir(parents=True, exist_ok=True)
        (module / "main.tf").write_text(f'# module {name}\nresource "null_resource" "this" {{}}\n')
        (module / "variables.tf").write_text('variable "name" {\n  type = string\n}\n')
    groups = accounts * regions
    per_group = max(3, units // groups)
    count = 0
    for a in range(accounts):
        account_dir = live / f"account-{a}"
        account_dir.mkdir(exist_ok=True)
        (account_dir / "account.hcl").write_text(
            f'locals {{\n  account_id   = "{100000000000 + a}"\n  account_name = "acct{a}"\n}}\n'
        )
        for r in range(regions):
            region_dir = account_dir / f"region-{r}"
            region_dir.mkdir(exist_ok=True)
            (region_dir / "region.hcl").write_text(f'locals {{\n  aws_region = "us-east-{r + 1}"\n}}\n')
            for i in range(per_group):
                if count >= units:
                    break
                if i == 0:
                    name, component, extra = "networking", "networking", ""
                elif i == 1:
                    name, component, extra = "storage", "storage", ""
                else:
                    name, component = f"cluster-{i:04d}", "cluster"
                    extra = ""
                    if i > 2:
                        extra = f'dependencies {{\n  paths = ["../cluster-{i - 1:04d}"]\n}}\n'
                unit_dir = region_dir / name
                unit_dir.mkdir(exist_ok=True)
                # Every file distinct, as in a real tree: no two units share a parse.
                (unit_dir / "terragrunt.hcl").write_text(
                    UNIT % {"component": component, "extra": extra, "name": f"acct{a}-r{r}-{name}"}
                )
                count += 1
    return live
