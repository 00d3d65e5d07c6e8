//! Where credentials and the region come from, through the CLI against the verifying
//! fixture: the environment, a shared credentials file profile, STS AssumeRole (its answer's
//! temporary credentials and session token sign the next calls), and the region from the
//! instance metadata service (IMDSv2 token, then `placement/region`) at
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`.

use std::sync::Arc;

use super::fixture::*;

const ENV_AK: &str = "AKIDFROMENV";
const ENV_SK: &str = "secret-from-env";
const FILE_AK: &str = "AKIDFROMFILE";
const FILE_SK: &str = "secret-from-file";
const TEMP_AK: &str = "ASIATEMPORARY";
const TEMP_SK: &str = "temporary-secret";

fn one_instance() -> String {
    r#"<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><reservationSet><item><ownerId>1</ownerId><instancesSet><item><instanceId>i-1</instanceId><imageId>ami-1</imageId><instanceState><name>running</name></instanceState><instanceType>t3.micro</instanceType><placement><availabilityZone>eu-west-1a</availabilityZone></placement><privateIpAddress>10.1.1.1</privateIpAddress></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"#.to_owned()
}

fn responder() -> Responder {
    Arc::new(|call: &Call| {
        if call.path.starts_with("/latest/") {
            return match (call.method.as_str(), call.path.as_str()) {
                ("PUT", "/latest/api/token") => {
                    assert_eq!(
                        call.header("x-aws-ec2-metadata-token-ttl-seconds"),
                        Some("21600")
                    );
                    (200, "text/plain", "imds-session-token".into())
                }
                ("GET", "/latest/meta-data/placement/region") => {
                    assert_eq!(
                        call.header("x-aws-ec2-metadata-token"),
                        Some("imds-session-token")
                    );
                    (200, "text/plain", "eu-west-1".into())
                }
                _ => (404, "text/plain", String::new()),
            };
        }
        match (call.service.as_str(), call.action()) {
            ("sts", "AssumeRole") => {
                assert_eq!(call.param("RoleArn"), Some("arn:aws:iam::123456789012:role/sd"));
                assert_eq!(call.param("ExternalId"), Some("ext-1"));
                assert_eq!(call.param("Version"), Some("2011-06-15"));
                assert!(call.param("RoleSessionName").is_some_and(|s| !s.is_empty()));
                xml(format!(
                    r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><SourceIdentity/><AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::123456789012:assumed-role/sd/s</Arn></AssumedRoleUser><Credentials><AccessKeyId>{TEMP_AK}</AccessKeyId><SecretAccessKey>{TEMP_SK}</SecretAccessKey><SessionToken>session-token-1</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><PackedPolicySize>6</PackedPolicySize></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>"#
                ))
            }
            ("ec2", "DescribeAvailabilityZones") => xml("<DescribeAvailabilityZonesResponse><availabilityZoneInfo/></DescribeAvailabilityZonesResponse>".into()),
            ("ec2", "DescribeInstances") => xml(one_instance()),
            _ => (400, "text/xml", String::new()),
        }
    })
}

fn fixture() -> Fixture {
    Fixture::start(
        &[(ENV_AK, ENV_SK), (FILE_AK, FILE_SK), (TEMP_AK, TEMP_SK)],
        responder(),
    )
}

fn ec2_yaml(endpoint: &str, extra: &str) -> String {
    format!("scrape_configs:\n  - job_name: ec2\n    ec2_sd_configs:\n      - endpoint: {endpoint}\n{extra}")
}

#[test]
fn environment_credentials_and_region() {
    let f = fixture();
    let got = check_sd(
        &ec2_yaml(&f.url, ""),
        "ec2",
        &[
            ("AWS_ACCESS_KEY_ID", ENV_AK),
            ("AWS_SECRET_ACCESS_KEY", ENV_SK),
            ("AWS_SESSION_TOKEN", "env-session"),
            ("AWS_REGION", "eu-central-1"),
        ],
    )
    .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["__meta_ec2_region"], "eu-central-1");
    let calls = f.calls();
    assert!(calls
        .iter()
        .all(|c| c.access_key == ENV_AK && c.region == "eu-central-1"));
    assert!(calls
        .iter()
        .all(|c| c.session_token.as_deref() == Some("env-session")));
}

#[test]
fn shared_credentials_file_profile() {
    let f = fixture();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    let file = home.path().join(".aws/credentials");
    std::fs::write(
        &file,
        format!("[default]\naws_access_key_id = WRONG\naws_secret_access_key = wrong\n\n[prod]\naws_access_key_id = {FILE_AK}\naws_secret_access_key = {FILE_SK}\n"),
    )
    .unwrap();
    let yaml = ec2_yaml(&f.url, "        region: us-west-2\n        profile: prod\n");
    let got = check_sd(
        &yaml,
        "ec2",
        &[("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap())],
    )
    .unwrap();
    assert_eq!(got.len(), 1);
    assert!(f
        .calls()
        .iter()
        .all(|c| c.access_key == FILE_AK && c.region == "us-west-2"));
    // The same profile chosen by AWS_PROFILE.
    let f2 = fixture();
    let yaml = ec2_yaml(&f2.url, "        region: us-west-2\n");
    check_sd(
        &yaml,
        "ec2",
        &[
            ("AWS_SHARED_CREDENTIALS_FILE", file.to_str().unwrap()),
            ("AWS_PROFILE", "prod"),
        ],
    )
    .unwrap();
    assert!(f2.calls().iter().all(|c| c.access_key == FILE_AK));
}

#[test]
fn assume_role_through_sts() {
    let f = fixture();
    let yaml = ec2_yaml(
        &f.url,
        &format!("        region: us-east-1\n        access_key: {ENV_AK}\n        secret_key: {ENV_SK}\n        role_arn: arn:aws:iam::123456789012:role/sd\n        external_id: ext-1\n"),
    );
    let got = check_sd(&yaml, "ec2", &[("AWS_ENDPOINT_URL_STS", &f.url)]).unwrap();
    assert_eq!(got.len(), 1);
    let calls = f.calls();
    assert_eq!(calls[0].service, "sts");
    assert_eq!(calls[0].access_key, ENV_AK);
    assert_eq!(calls[0].region, "us-east-1");
    let ec2: Vec<&Call> = calls.iter().filter(|c| c.service == "ec2").collect();
    assert!(!ec2.is_empty());
    assert!(ec2
        .iter()
        .all(|c| c.access_key == TEMP_AK && c.session_token.as_deref() == Some("session-token-1")));
    assert!(f.rejected().is_empty(), "{:?}", f.rejected());
}

#[test]
fn region_from_instance_metadata() {
    let f = fixture();
    let yaml = ec2_yaml(
        &f.url,
        &format!("        access_key: {ENV_AK}\n        secret_key: {ENV_SK}\n"),
    );
    let got = check_sd(
        &yaml,
        "ec2",
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &f.url)],
    )
    .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["__meta_ec2_region"], "eu-west-1");
    let calls = f.calls();
    assert_eq!(calls[0].path, "/latest/api/token");
    assert_eq!(calls[0].method, "PUT");
    assert!(calls
        .iter()
        .filter(|c| c.service == "ec2")
        .all(|c| c.region == "eu-west-1"));
}
