output "capacity_reservation_id" {
  description = "ID (cr-...) of the purchased reservation; null until purchase = true is applied."
  value       = one(aws_ec2_capacity_block_reservation.this[*].id)
}

output "availability_zone" {
  description = "AZ of the offering/reservation; cluster subnets using the block must be in it."
  value       = data.aws_ec2_capacity_block_offering.this.availability_zone
}

output "offering_id" {
  description = "ID of the selected Capacity Block offering."
  value       = data.aws_ec2_capacity_block_offering.this.capacity_block_offering_id
}

output "start_date" {
  description = "Start of the block."
  value       = data.aws_ec2_capacity_block_offering.this.start_date
}

output "end_date" {
  description = "End of the block."
  value       = data.aws_ec2_capacity_block_offering.this.end_date
}

output "upfront_fee" {
  description = "Upfront price of the offering."
  value       = data.aws_ec2_capacity_block_offering.this.upfront_fee
}

output "currency_code" {
  description = "Currency of upfront_fee."
  value       = data.aws_ec2_capacity_block_offering.this.currency_code
}

output "instance_type" {
  description = "Instance type of the block."
  value       = var.instance_type
}

output "instance_count" {
  description = "Number of instances in the block."
  value       = var.instance_count
}
