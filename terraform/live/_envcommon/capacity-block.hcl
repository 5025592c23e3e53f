# An EC2 Capacity Block for the ParallelCluster CAPACITY_BLOCK queue. Buying is an upfront,
# non-refundable charge, so purchase stays false until someone flips it deliberately (or buys
# through `ml-clusters capacity-blocks`); the offering lookup still pins the AZ.
terraform {
  source = "${dirname(find_in_parent_folders("root.hcl"))}/../modules//capacity-block"
}

inputs = {
  instance_type           = "p5.48xlarge"
  instance_count          = 2
  capacity_duration_hours = 168
  start_date_range        = "2026-12-01T00:00:00Z"
  end_date_range          = "2026-12-31T23:59:59Z"
  purchase                = false
  capacity_pool           = "training"
}
