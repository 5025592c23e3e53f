"""Tags ml-clusters puts on the capacity it buys (read back by `list`, the expiry sensor and auto-extension)."""

# The unit that uses the capacity: the same tag root.hcl's provider stamps on every resource, so the
# capacity-expiry sensor maps a block or plan bought here to its cluster exactly as it maps Terraform's.
UNIT = "ml-clusters:unit"
PURCHASED_BY = "ml-clusters:purchased-by"
ACCOUNT = "ml-clusters:account"  # estate account key

AUTO_EXTEND_HOURS = "ml-clusters:auto-extend-hours"
AUTO_EXTEND_MAX_PRICE = "ml-clusters:auto-extend-max-price"
AUTO_EXTEND_LEAD_HOURS = "ml-clusters:auto-extend-lead-hours"
