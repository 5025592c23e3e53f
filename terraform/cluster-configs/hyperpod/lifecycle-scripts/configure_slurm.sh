#!/usr/bin/env bash
# Configure Slurm on a HyperPod node (Slurm ships in the HyperPod AMI under /opt/slurm).
# Usage: configure_slurm.sh <controller|login|compute> <controller-ip> <instance-group> <provisioning_parameters.json>
#
# Worker groups become partitions of dynamic nodes (slurmd -Z): the controller needs no node list,
# so replaced or added instances register themselves without a controller restart.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${SCRIPT_DIR}/lib.sh"

(($# == 4)) || die "usage: ${0##*/} <role> <controller-ip> <instance-group> <provisioning_parameters.json>"
readonly ROLE=$1 CONTROLLER_IP=$2 GROUP=$3 PARAMS=$4

readonly SLURM_ETC=/opt/slurm/etc
readonly SLURM_CONF="${SLURM_ETC}/slurm.conf"
# The munge key travels through the shared FSx file system, readable by root only.
readonly SHARED_DIR=/fsx/.hyperpod-slurm
readonly SHARED_MUNGE_KEY="${SHARED_DIR}/munge.key"
readonly SHARED_SLURM_CONF="${SHARED_DIR}/slurm.conf"

case "${ROLE}" in
  controller | login | compute) ;;
  *) die "unknown role ${ROLE}" ;;
esac

write_slurm_conf() {
  local partitions
  partitions="$(python3 - "${PARAMS}" <<'PY'
import json, sys
with open(sys.argv[1]) as fh:
    params = json.load(fh)
for index, group in enumerate(params.get("worker_groups", [])):
    name = group["partition_name"]
    default = "YES" if index == 0 else "NO"
    print(f"NodeSet={name} Feature={name}")
    print(f"PartitionName={name} Nodes={name} Default={default} MaxTime=INFINITE State=UP OverSubscribe=EXCLUSIVE")
PY
)"
  mkdir -p "${SLURM_ETC}"
  cat >"${SLURM_CONF}.new" <<EOF
# Written by the ml-clusters HyperPod lifecycle scripts (configure_slurm.sh).
ClusterName=$(json_get "${RESOURCE_CONFIG}" 'd["ClusterConfig"]["ClusterName"]')
SlurmctldHost=$(hostname -s)(${CONTROLLER_IP})
AuthType=auth/munge
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Compute nodes fetch this file from slurmctld (slurmd --conf-server) instead of a local copy.
SlurmctldParameters=enable_configless
GresTypes=gpu
MaxNodeCount=1024
TreeWidth=65533
SlurmctldTimeout=300
SlurmdTimeout=300
ReturnToService=2
# HyperPod auto-resume (srun --auto-resume=1) requeues jobs whose nodes get replaced.
JobRequeue=1
SlurmctldLogFile=/var/log/slurmctld.log
SlurmdLogFile=/var/log/slurmd.log
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
${partitions}
EOF
  mv "${SLURM_CONF}.new" "${SLURM_CONF}"
  install -m 0644 "${SLURM_CONF}" "${SHARED_SLURM_CONF}"
}

share_munge_key() {
  install -d -m 0700 "${SHARED_DIR}"
  if [[ ! -s "${SHARED_MUNGE_KEY}" ]]; then
    [[ -s /etc/munge/munge.key ]] || /usr/sbin/create-munge-key -f
    install -m 0400 /etc/munge/munge.key "${SHARED_MUNGE_KEY}"
  fi
}

fetch_munge_key() {
  retry 40 15 test -s "${SHARED_MUNGE_KEY}" || die "controller never published ${SHARED_MUNGE_KEY}"
  install -o munge -g munge -m 0400 "${SHARED_MUNGE_KEY}" /etc/munge/munge.key
}

case "${ROLE}" in
  controller)
    share_munge_key
    systemctl restart munge
    write_slurm_conf
    install -d -m 0755 /var/spool/slurmctld
    systemctl enable --now slurmctld
    log "slurmctld running on ${CONTROLLER_IP}"
    ;;
  login)
    fetch_munge_key
    systemctl restart munge
    # Login nodes run no slurmd; the client commands read the controller's slurm.conf.
    retry 40 15 test -s "${SHARED_SLURM_CONF}" || die "controller never published ${SHARED_SLURM_CONF}"
    mkdir -p "${SLURM_ETC}"
    install -m 0644 "${SHARED_SLURM_CONF}" "${SLURM_CONF}"
    log "login node uses controller ${CONTROLLER_IP}"
    ;;
  compute)
    fetch_munge_key
    systemctl restart munge
    gpus=0
    if command -v nvidia-smi >/dev/null 2>&1; then
      gpus="$(nvidia-smi --list-gpus | wc -l)"
    fi
    gres=""
    if ((gpus > 0)); then
      gres=" Gres=gpu:${gpus}"
    fi
    mkdir -p /etc/sysconfig
    printf 'SLURMD_OPTIONS="-Z --conf-server %s --conf \\"Feature=%s%s\\""\n' \
      "${CONTROLLER_IP}" "${GROUP}" "${gres}" >/etc/sysconfig/slurmd
    systemctl enable --now slurmd
    log "slurmd registered dynamically in partition ${GROUP} (${gpus} GPUs)"
    ;;
esac
