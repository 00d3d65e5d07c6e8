//! STACKIT SD's config checks (`stackit.go`), the list URL (`server.go`) and the labels of
//! `TestServerSDRefresh` (`server_test.go`, answers from `mock_test.go` in
//! `testdata/servers.json`).

use promsd_actors::model::labels_map;

use super::refresh::servers_url;
use super::targets::{group, ServerList};
use super::*;

fn parse(yaml: &str) -> Result<StackitSdConfig, String> {
    serde_yaml::from_str(yaml).map_err(|e| e.to_string())
}

#[test]
fn config_defaults_and_validation() {
    let c = parse("project: p\n").unwrap();
    assert_eq!((c.region.as_str(), c.port), ("eu01", 80));
    assert_eq!(c.refresh_interval, Duration::from_secs(60));
    assert_eq!(
        servers_url(&c).unwrap(),
        "https://iaas.api.eu01.stackit.cloud/v1/projects/p/servers?details=true"
    );
    let c = parse("project: p\nendpoint: http://127.0.0.1:8/base/?b=1&a=2\n").unwrap();
    assert_eq!(
        servers_url(&c).unwrap(),
        "http://127.0.0.1:8/base/v1/projects/p/servers?a=2&b=1&details=true"
    );
    for (yaml, message) in [
        (
            "region: ''\n",
            "stackit_sd: endpoint and region missing",
        ),
        (
            "endpoint: '://invalid'\n",
            "stackit_sd: invalid endpoint \"://invalid\": parse \"://invalid\": missing protocol scheme",
        ),
        ("refresh_interval: 0s\n", "refresh_interval must be greater than 0"),
        ("bogus: 1\n", "bogus"),
    ] {
        let e = parse(yaml).unwrap_err();
        assert!(e.contains(message), "{yaml}: {e}");
    }
}

/// `TestServerSDRefresh`: one target (the second server has no NICs).
#[test]
fn server_labels() {
    let list: ServerList = serde_json::from_str(include_str!("testdata/servers.json")).unwrap();
    let g = group(
        &list.items.unwrap(),
        "00000000-0000-0000-0000-000000000000",
        80,
    );
    assert_eq!(g.source.as_ref(), "stackit");
    assert_eq!(g.targets.len(), 1);
    let want: std::collections::BTreeMap<String, String> = [
        ("__address__", "192.0.2.1:80"),
        (
            "__meta_stackit_project",
            "00000000-0000-0000-0000-000000000000",
        ),
        ("__meta_stackit_id", "b4176700-596a-4f80-9fc8-5f9c58a606e1"),
        ("__meta_stackit_type", "g1.1"),
        ("__meta_stackit_private_ipv4_test", "10.0.0.153"),
        ("__meta_stackit_public_ipv4", "192.0.2.1"),
        (
            "__meta_stackit_labelpresent_provisionSTACKITServerAgent",
            "true",
        ),
        ("__meta_stackit_label_provisionSTACKITServerAgent", "true"),
        ("__meta_stackit_labelpresent_stackit_project_id", "true"),
        ("__meta_stackit_name", "runcommandtest"),
        ("__meta_stackit_availability_zone", "eu01-3"),
        ("__meta_stackit_status", "INACTIVE"),
        ("__meta_stackit_power_status", "STOPPED"),
        (
            "__meta_stackit_label_stackit_project_id",
            "00000000-0000-0000-0000-000000000000",
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(labels_map(&g.targets[0]), want);
}

mod key_flow {
    //! Where the key flow takes its keys and token endpoint from (stackit-sdk-go core
    //! v0.26.0 `auth.KeyAuth`), and when it asks for a token.

    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::super::keyflow::{KeyFlow, Next, Tokens, TOKEN_URL};
    use super::*;

    const KEY: &str = r#"{"Active": true, "Credentials": {"Aud": "https://stackit-service-account-prod.apps.01.cf.eu01.stackit.cloud", "Iss": "stackit@sa.stackit.cloud", "Kid": "123e4567-e89b-12d3-a456-426614174000", "Sub": "123e4567-e89b-12d3-a456-426614174001"}}"#;
    const GARBAGE: &str =
        "-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n";

    fn pem() -> String {
        std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mechanisms/stackit_testdata/key.pem"),
        )
        .unwrap()
    }

    struct Case {
        dir: tempfile::TempDir,
        env: BTreeMap<String, String>,
        config: StackitSdConfig,
    }

    impl Case {
        fn new() -> Case {
            let dir = tempfile::tempdir().unwrap();
            let mut env = BTreeMap::new();
            env.insert(
                "HOME".to_owned(),
                dir.path().join("home").display().to_string(),
            );
            let config = StackitSdConfig {
                service_account_key: Secret::new(KEY),
                ..StackitSdConfig::default()
            };
            Case { dir, env, config }
        }
        fn file(&self, name: &str, body: &str) -> String {
            let path: PathBuf = self.dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, body).unwrap();
            path.display().to_string()
        }
        fn setup(&self) -> Result<KeyFlow, String> {
            let env = self.env.clone();
            KeyFlow::setup(&self.config, &move |k: &str| env.get(k).cloned())
        }
    }

    /// The private key's sources in the SDK's order; each case puts the good key only where
    /// it must be taken from, and bad ones in every source of lower rank it sets.
    #[test]
    fn private_key_sources_in_the_sdks_order() {
        // private_key (inline) before everything.
        let mut c = Case::new();
        c.config.private_key = Secret::new(pem());
        c.config.private_key_path = c.file("bad.pem", GARBAGE);
        c.env.insert("STACKIT_PRIVATE_KEY".into(), GARBAGE.into());
        c.setup().unwrap();
        // private_key_path before the environment.
        let mut c = Case::new();
        c.config.private_key_path = c.file("good.pem", &pem());
        c.env.insert(
            "STACKIT_PRIVATE_KEY_PATH".into(),
            c.file("bad.pem", GARBAGE),
        );
        c.setup().unwrap();
        // STACKIT_PRIVATE_KEY_PATH before STACKIT_PRIVATE_KEY.
        let mut c = Case::new();
        c.env.insert(
            "STACKIT_PRIVATE_KEY_PATH".into(),
            c.file("good.pem", &pem()),
        );
        c.env.insert("STACKIT_PRIVATE_KEY".into(), GARBAGE.into());
        c.setup().unwrap();
        // STACKIT_PRIVATE_KEY before the credentials file.
        let mut c = Case::new();
        c.env.insert("STACKIT_PRIVATE_KEY".into(), pem());
        c.config.credentials_file_path = c.file(
            "creds.json",
            &serde_json::json!({"STACKIT_PRIVATE_KEY": GARBAGE}).to_string(),
        );
        c.setup().unwrap();
        // credentials_file_path: its STACKIT_PRIVATE_KEY_PATH before its STACKIT_PRIVATE_KEY.
        let mut c = Case::new();
        let good = c.file("good.pem", &pem());
        c.config.credentials_file_path = c.file(
            "creds.json",
            &serde_json::json!({"STACKIT_PRIVATE_KEY_PATH": good, "STACKIT_PRIVATE_KEY": GARBAGE})
                .to_string(),
        );
        c.env.insert(
            "STACKIT_CREDENTIALS_PATH".into(),
            c.file("other.json", "{}"),
        );
        c.setup().unwrap();
        // STACKIT_CREDENTIALS_PATH before $HOME/.stackit/credentials.json.
        let mut c = Case::new();
        c.env.insert(
            "STACKIT_CREDENTIALS_PATH".into(),
            c.file(
                "creds.json",
                &serde_json::json!({"STACKIT_PRIVATE_KEY": pem()}).to_string(),
            ),
        );
        c.file(
            "home/.stackit/credentials.json",
            &serde_json::json!({"STACKIT_PRIVATE_KEY": GARBAGE}).to_string(),
        );
        c.setup().unwrap();
        // $HOME/.stackit/credentials.json, with Go's case-insensitive field names.
        let c = Case::new();
        c.file(
            "home/.stackit/credentials.json",
            &serde_json::json!({"stackit_private_key": pem()}).to_string(),
        );
        c.setup().unwrap();
        // Nothing anywhere: the key's own credentials.privateKey (camelCase, as STACKIT issues
        // keys), also when a configured path does not exist.
        let mut c = Case::new();
        c.config.service_account_key = Secret::new(serde_json::json!({"credentials": {"aud": "a", "iss": "i", "kid": "k", "sub": "s", "privateKey": pem()}}).to_string());
        c.setup().unwrap();
        c.config.private_key_path = "/nonexistent/key.pem".into();
        c.setup().unwrap();
        // An explicit bad key is not replaced by the key's own.
        c.config.private_key = Secret::new(GARBAGE);
        assert!(c.setup().is_err());
    }

    #[test]
    fn errors_as_the_sdk_words_them() {
        let c = Case::new();
        assert_eq!(
            c.setup().err().unwrap(),
            "configuring key authentication: configuring key authentication: private key is not part of the service account key and could not be found: reading from credentials file: opening file: open "
                .to_owned()
                + &c.dir.path().join("home/.stackit/credentials.json").display().to_string()
                + ": no such file or directory"
        );
        let mut c = Case::new();
        c.config.credentials_file_path = c.file("creds.json", "{}");
        assert!(c.setup().err().unwrap().ends_with("could not be found: neither key nor path is provided in the configuration, environment variable, or credentials file: private key is empty or not set"));
        let mut c = Case::new();
        c.config.service_account_key = Secret::default();
        c.config.service_account_key_path = "/nonexistent/sa.json".into();
        assert_eq!(
            c.setup().err().unwrap(),
            "configuring key authentication: configuring key authentication: service account key could not be found: reading key from file path: open /nonexistent/sa.json: no such file or directory"
        );
        c.config.service_account_key_path = c.file("empty.json", "");
        assert!(c
            .setup()
            .err()
            .unwrap()
            .ends_with("service account key could not be found: key path points to an empty file"));
        let mut c = Case::new();
        c.config.service_account_key = Secret::new(pem());
        c.config.private_key = Secret::new(pem());
        let e = c.setup().err().unwrap();
        assert!(
            e.starts_with("configuring key authentication: unmarshalling service account key: "),
            "{e}"
        );
        assert!(e.ends_with(" - it seems like the provided service account key is in PEM format. Please provide it in JSON format."), "{e}");
        let mut c = Case::new();
        c.config.private_key = Secret::new("not a pem");
        assert!(c.setup().err().unwrap().starts_with("configuring key authentication: error initializing client: parse private key from PEM file: "));
    }

    #[test]
    fn service_account_key_from_its_path_and_token_endpoint() {
        let mut c = Case::new();
        c.config.service_account_key = Secret::default();
        c.config.service_account_key_path = c.file("sa.json", KEY);
        c.config.private_key = Secret::new(pem());
        assert_eq!(c.setup().unwrap().token_url(), TOKEN_URL);
        c.config.service_account_key_path = c.file(
            "sa.json",
            &serde_json::json!({"credentials": {"tokenEndpoint": "https://token.example/t"}})
                .to_string(),
        );
        assert_eq!(c.setup().unwrap().token_url(), "https://token.example/t");
        c.env.insert(
            "STACKIT_TOKEN_BASEURL".into(),
            "http://127.0.0.1:1/token".into(),
        );
        assert_eq!(c.setup().unwrap().token_url(), "http://127.0.0.1:1/token");
    }

    fn jwt(exp: u64) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.sig",
            b64.encode(r#"{"alg":"RS512"}"#),
            b64.encode(format!(r#"{{"exp":{exp}}}"#))
        )
    }

    /// The access token is kept until 5 s before its `exp`; then the refresh token renews it
    /// while it is valid, else a new JWT is signed.
    #[test]
    fn token_kept_until_shortly_before_it_expires() {
        let now = 1_000_000;
        let (access, refresh) = (jwt(now + 60), jwt(now + 3600));
        let tokens = Tokens {
            access: access.clone(),
            refresh: refresh.clone(),
        };
        assert_eq!(KeyFlow::next(&tokens, now), Next::Cached(access.clone()));
        assert_eq!(KeyFlow::next(&tokens, now + 54), Next::Cached(access));
        assert_eq!(
            KeyFlow::next(&tokens, now + 56),
            Next::Refresh(refresh.clone())
        );
        assert_eq!(KeyFlow::next(&tokens, now + 3596), Next::Assertion);
        assert_eq!(KeyFlow::next(&Tokens::default(), now), Next::Assertion);
        let opaque = Tokens {
            access: "opaque".into(),
            refresh: String::new(),
        };
        assert_eq!(KeyFlow::next(&opaque, now), Next::Assertion);
    }

    /// The JWT's claims: `exp` one hour after `iat`, as the SDK signs it.
    #[test]
    fn assertion_claims() {
        use base64::Engine as _;
        let mut c = Case::new();
        c.config.private_key = Secret::new(pem());
        let jwt = c.setup().unwrap().assertion(1_000).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(jwt.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            (claims["iat"].as_u64(), claims["exp"].as_u64()),
            (Some(1_000), Some(4_600))
        );
        assert_eq!(claims["sub"], "123e4567-e89b-12d3-a456-426614174001");
    }
}
