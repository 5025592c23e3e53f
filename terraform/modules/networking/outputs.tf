output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "vpc_cidr_block" {
  description = "IPv4 CIDR of the VPC."
  value       = module.vpc.vpc_cidr_block
}

output "azs" {
  description = "Availability zones the subnets are spread over."
  value       = var.azs
}

output "private_subnet_ids" {
  description = "Private compute subnet IDs, in the order of var.azs."
  value       = module.vpc.private_subnets
}

output "private_subnet_cidrs" {
  description = "Private compute subnet CIDRs, in the order of var.azs."
  value       = local.private_subnets
}

output "private_subnets_by_az" {
  description = "Map of availability zone to private compute subnet ID (pick the subnet matching a Capacity Block's AZ)."
  value       = zipmap(var.azs, module.vpc.private_subnets)
}

output "public_subnet_ids" {
  description = "Public (NAT) subnet IDs, in the order of var.azs."
  value       = module.vpc.public_subnets
}

output "public_subnet_cidrs" {
  description = "Public (NAT) subnet CIDRs, in the order of var.azs."
  value       = local.public_subnets
}

output "private_route_table_ids" {
  description = "Route tables of the private subnets."
  value       = module.vpc.private_route_table_ids
}

output "efa_security_group_id" {
  description = "Security group for EFA-enabled instances (all traffic, self-referencing ingress and egress only)."
  value       = aws_security_group.efa.id
}

output "node_egress_security_group_id" {
  description = "Security group giving cluster nodes HTTPS egress and VPC-internal traffic (pair it with the EFA group, which has no such egress)."
  value       = aws_security_group.node_egress.id
}

output "placement_group_name" {
  description = "Name of the cluster placement group for GPU/EFA instances."
  value       = aws_placement_group.gpu.name
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}
