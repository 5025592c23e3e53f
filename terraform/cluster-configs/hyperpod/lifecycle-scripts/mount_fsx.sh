#!/usr/bin/env bash
# Mount an FSx for Lustre file system and keep it in /etc/fstab.
# Usage: mount_fsx.sh <dns-name> <mount-name> <mount-point>
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "${SCRIPT_DIR}/lib.sh"

(($# == 3)) || die "usage: ${0##*/} <dns-name> <mount-name> <mount-point>"
readonly DNS_NAME=$1 MOUNT_NAME=$2 MOUNT_POINT=$3
readonly SOURCE="${DNS_NAME}@tcp:/${MOUNT_NAME}"
# noatime + flock: the options FSx recommends for shared training data and checkpoints.
readonly OPTIONS="noatime,flock,_netdev,x-systemd.automount,x-systemd.requires=network.service"

if ! command -v mount.lustre >/dev/null 2>&1; then
  die "Lustre client missing (HyperPod AMIs ship it); cannot mount ${SOURCE}"
fi

mkdir -p "${MOUNT_POINT}"

if ! grep -qs " ${MOUNT_POINT} lustre " /etc/fstab; then
  printf '%s %s lustre %s 0 0\n' "${SOURCE}" "${MOUNT_POINT}" "${OPTIONS}" >>/etc/fstab
  log "added ${SOURCE} to /etc/fstab"
fi

if mountpoint -q "${MOUNT_POINT}"; then
  log "${MOUNT_POINT} already mounted"
  exit 0
fi

# The file system's DNS entry can lag a new ENI by a minute or two.
retry 10 15 mount -t lustre -o noatime,flock "${SOURCE}" "${MOUNT_POINT}" ||
  die "could not mount ${SOURCE} at ${MOUNT_POINT}"

chmod 1777 "${MOUNT_POINT}"
log "mounted ${SOURCE} at ${MOUNT_POINT}"
