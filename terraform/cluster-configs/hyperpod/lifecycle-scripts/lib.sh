#!/usr/bin/env bash
# Helpers shared by the HyperPod lifecycle scripts. Sourced, never executed.

# Where HyperPod describes the cluster to each instance at creation time.
readonly RESOURCE_CONFIG="${RESOURCE_CONFIG:-/opt/ml/config/resource_config.json}"

log() {
  printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${0##*/}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# retry <attempts> <delay-seconds> <command...>
retry() {
  local attempts=$1 delay=$2 n=1
  shift 2
  until "$@"; do
    if ((n >= attempts)); then
      return 1
    fi
    log "attempt ${n}/${attempts} failed: $*; retrying in ${delay}s"
    sleep "${delay}"
    n=$((n + 1))
  done
}

# json_get <file> <python-expression over `d`>: print one value from a JSON file. python3 ships on
# every HyperPod AMI; jq does not.
json_get() {
  python3 - "$1" "$2" <<'PY'
import json, sys
with open(sys.argv[1]) as fh:
    d = json.load(fh)
value = eval(sys.argv[2], {"__builtins__": {}}, {"d": d})
if value is None:
    sys.exit(1)
print(value if not isinstance(value, (list, dict)) else json.dumps(value))
PY
}

# The primary IPv4 address of this instance, as HyperPod lists it in resource_config.json.
my_ip() {
  hostname -I | awk '{print $1}'
}

# instance_group_of <ip>: the instance group this address belongs to.
instance_group_of() {
  python3 - "${RESOURCE_CONFIG}" "$1" <<'PY'
import json, sys
with open(sys.argv[1]) as fh:
    config = json.load(fh)
for group in config.get("InstanceGroups", []):
    for instance in group.get("Instances", []):
        if instance.get("CustomerIpAddress") == sys.argv[2]:
            print(group["Name"])
            sys.exit(0)
sys.exit(1)
PY
}

# first_ip_of_group <group>: address of the first instance of a group (the Slurm controller).
first_ip_of_group() {
  python3 - "${RESOURCE_CONFIG}" "$1" <<'PY'
import json, sys
with open(sys.argv[1]) as fh:
    config = json.load(fh)
for group in config.get("InstanceGroups", []):
    if group["Name"] == sys.argv[2] and group.get("Instances"):
        print(group["Instances"][0]["CustomerIpAddress"])
        sys.exit(0)
sys.exit(1)
PY
}
