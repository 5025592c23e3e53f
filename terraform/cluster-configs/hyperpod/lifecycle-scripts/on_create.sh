#!/usr/bin/env bash
# HyperPod lifecycle entrypoint (LifeCycleConfig.OnCreate). HyperPod downloads the whole
# lifecycle-scripts/ prefix, including the provisioning_parameters.json Terraform writes next to
# these scripts, and runs this file as root on every new instance.
#
# Steps: find this instance's group and Slurm role -> mount FSx for Lustre -> configure Slurm.
# Every step is idempotent: node replacement (NodeRecovery = Automatic) runs it again.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly PARAMS="${SCRIPT_DIR}/provisioning_parameters.json"
readonly LOG_FILE=/var/log/provision/provisioning.log

mkdir -p "$(dirname "${LOG_FILE}")"
exec > >(tee -a "${LOG_FILE}") 2>&1

# shellcheck source=lib.sh
source "${SCRIPT_DIR}/lib.sh"

[[ -r "${PARAMS}" ]] || die "missing ${PARAMS} (written by the hyperpod Terraform module)"
[[ -r "${RESOURCE_CONFIG}" ]] || die "missing ${RESOURCE_CONFIG}; not running on a HyperPod instance?"

workload_manager="$(json_get "${PARAMS}" 'd.get("workload_manager")')"
ip="$(my_ip)"
group="$(instance_group_of "${ip}")" || die "instance ${ip} is not listed in ${RESOURCE_CONFIG}"

controller_group="$(json_get "${PARAMS}" 'd.get("controller_group")' || true)"
login_group="$(json_get "${PARAMS}" 'd.get("login_group")' || true)"

if [[ "${group}" == "${controller_group}" ]]; then
  role=controller
elif [[ -n "${login_group}" && "${group}" == "${login_group}" ]]; then
  role=login
else
  role=compute
fi
log "instance ${ip} in group ${group}: role ${role}, workload manager ${workload_manager}"

fsx_dns="$(json_get "${PARAMS}" 'd.get("fsx_dns_name")' || true)"
fsx_mount="$(json_get "${PARAMS}" 'd.get("fsx_mountname")' || true)"
if [[ -n "${fsx_dns}" && -n "${fsx_mount}" ]]; then
  bash "${SCRIPT_DIR}/mount_fsx.sh" "${fsx_dns}" "${fsx_mount}" /fsx
else
  log "no FSx for Lustre in provisioning parameters; skipping /fsx"
fi

if [[ "${workload_manager}" == "slurm" ]]; then
  controller_ip="$(first_ip_of_group "${controller_group}")" || die "controller group ${controller_group} has no instance"
  bash "${SCRIPT_DIR}/configure_slurm.sh" "${role}" "${controller_ip}" "${group}" "${PARAMS}"
fi

log "lifecycle complete"
