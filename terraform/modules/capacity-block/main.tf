# An EC2 Capacity Block: the cheapest offering matching type, count, duration and date window, and
# (when purchase = true) its reservation. Capacity Blocks are AZ-specific: the clusters that use
# the block must put the reserved queue/node group in a subnet of availability_zone.

data "aws_ec2_capacity_block_offering" "this" {
  instance_type           = var.instance_type
  instance_count          = var.instance_count
  capacity_duration_hours = var.capacity_duration_hours
  start_date_range        = var.start_date_range
  end_date_range          = var.end_date_range

  lifecycle {
    precondition {
      condition     = timecmp(var.start_date_range, var.end_date_range) < 0
      error_message = "start_date_range must be before end_date_range."
    }
  }
}

resource "aws_ec2_capacity_block_reservation" "this" {
  count = var.purchase ? 1 : 0

  capacity_block_offering_id = data.aws_ec2_capacity_block_offering.this.capacity_block_offering_id
  instance_platform          = var.instance_platform

  tags = merge(var.tags, { "ml-clusters/capacity-pool" = var.capacity_pool })
}
