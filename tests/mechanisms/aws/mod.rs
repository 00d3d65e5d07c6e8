//! AWS SD (`ec2_sd_configs`, `lightsail_sd_configs`, `aws_sd_configs` and the other AWS keys)
//! end to end: the real binary against a fixture AWS endpoint that verifies SigV4 with botocore.

mod credentials;
mod ec2;
mod ecs;
mod elasticache;
mod fixture;
mod lightsail;
mod msk;
mod rds;
mod throttle;
