output "fsx_id" {
  description = "ID of the FSx for Lustre file system."
  value       = aws_fsx_lustre_file_system.this.id
}

output "fsx_arn" {
  description = "ARN of the FSx for Lustre file system."
  value       = aws_fsx_lustre_file_system.this.arn
}

output "fsx_dns_name" {
  description = "DNS name clients mount (mount -t lustre <dns>@tcp:/<mount_name>)."
  value       = aws_fsx_lustre_file_system.this.dns_name
}

output "fsx_mount_name" {
  description = "Lustre mount name."
  value       = aws_fsx_lustre_file_system.this.mount_name
}

output "fsx_security_group_id" {
  description = "Security group of the Lustre file servers."
  value       = aws_security_group.fsx.id
}

output "fsx_data_repository_association_id" {
  description = "ID of the data repository association to the regional bucket."
  value       = aws_fsx_data_repository_association.data.id
}

output "efs_id" {
  description = "ID of the EFS file system."
  value       = aws_efs_file_system.this.id
}

output "efs_arn" {
  description = "ARN of the EFS file system."
  value       = aws_efs_file_system.this.arn
}

output "efs_dns_name" {
  description = "Regional DNS name of the EFS file system (cross-account clients mount by mount-target IP instead)."
  value       = aws_efs_file_system.this.dns_name
}

output "efs_access_point_ids" {
  description = "Map of access point name to ID."
  value       = { for name, ap in aws_efs_access_point.this : name => ap.id }
}

output "efs_security_group_id" {
  description = "Security group of the EFS mount targets."
  value       = aws_security_group.efs.id
}
