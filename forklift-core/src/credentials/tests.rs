use super::*;
use crate::resources::{ObjectMeta, ProviderSpec};

fn secret(pairs: &[(&str, &str)]) -> Secret {
    Secret::opaque(ObjectMeta::named("ns", "s"), pairs.iter().copied())
}

const SECRET_VALUES: &[&str] = &["hunter2", "tok-123", "appsecret-xyz"];

fn assert_redacted(value: &dyn fmt::Debug, display: &dyn fmt::Display) {
    let debug = format!("{value:?}");
    let shown = display.to_string();
    for secret in SECRET_VALUES {
        assert!(!debug.contains(secret), "Debug leaks {secret}: {debug}");
        assert!(!shown.contains(secret), "Display leaks {secret}: {shown}");
    }
}

#[test]
fn vsphere_reads_user_password_and_tls() {
    let s = secret(&[
        ("user", "administrator@vsphere.local"),
        ("password", "hunter2"),
        ("ca.crt", "-----BEGIN CERTIFICATE-----"),
        ("insecureSkipVerify", "garbage"),
    ]);
    let c = ProviderCredentials::from_secret(ProviderType::VSphere, false, Some(&s)).unwrap();
    let Credentials::VSphere(up) = &c.credentials else {
        panic!("{c:?}")
    };
    assert_eq!(up.user, "administrator@vsphere.local");
    assert_eq!(up.password.expose(), "hunter2");
    assert_eq!(
        c.tls.ca_cert.as_deref(),
        Some("-----BEGIN CERTIFICATE-----")
    );
    assert!(
        !c.tls.insecure_skip_verify,
        "unparsable is false, as Go's ParseBool fallback"
    );
    assert_redacted(&c, &c);
    assert_eq!(
        c.to_string(),
        "vSphere user administrator@vsphere.local with password, custom CA"
    );
}

#[test]
fn missing_key_names_key_and_auth_type() {
    let s = secret(&[("user", "admin@internal")]);
    let err = ProviderCredentials::from_secret(ProviderType::OVirt, false, Some(&s)).unwrap_err();
    assert_eq!(
        err,
        CredentialError::MissingKey {
            key: "password",
            auth_type: "oVirt"
        }
    );
    assert_eq!(
        err.to_string(),
        r#"Missing key "password" in the provider secret for oVirt authentication"#
    );
    let s = secret(&[("authType", "token"), ("token", "tok-123"), ("userID", "u")]);
    let err =
        ProviderCredentials::from_secret(ProviderType::OpenStack, false, Some(&s)).unwrap_err();
    assert_eq!(
        err,
        CredentialError::MissingKey {
            key: "projectID",
            auth_type: "OpenStack token with user ID"
        }
    );
}

#[test]
fn openstack_five_auth_types() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("username", "u"),
                ("password", "hunter2"),
                ("projectName", "p"),
                ("domainName", "d"),
            ],
            "OpenStack password",
        ),
        (
            &[
                ("userID", "u-1"),
                ("password", "hunter2"),
                ("projectID", "p-1"),
            ],
            "OpenStack password with user ID",
        ),
        (
            &[
                ("authType", "token"),
                ("token", "tok-123"),
                ("userID", "u"),
                ("projectID", "p"),
            ],
            "OpenStack token with user ID",
        ),
        (
            &[
                ("authType", "token"),
                ("token", "tok-123"),
                ("username", "u"),
                ("projectName", "p"),
                ("domainName", "d"),
            ],
            "OpenStack token with user name",
        ),
        (
            &[
                ("authType", "applicationcredential"),
                ("applicationCredentialID", "id"),
                ("applicationCredentialSecret", "appsecret-xyz"),
            ],
            "OpenStack application credential ID",
        ),
        (
            &[
                ("authType", "applicationcredential"),
                ("applicationCredentialName", "n"),
                ("applicationCredentialSecret", "appsecret-xyz"),
                ("username", "u"),
                ("domainName", "d"),
            ],
            "OpenStack application credential name",
        ),
    ];
    for (pairs, method) in cases {
        let mut all = pairs.to_vec();
        all.push(("url", "http://controller:5000/v3"));
        let c =
            ProviderCredentials::from_secret(ProviderType::OpenStack, false, Some(&secret(&all)))
                .unwrap();
        let Credentials::OpenStack(os) = &c.credentials else {
            panic!()
        };
        assert_eq!(os.auth.method_name(), *method);
        assert_eq!(os.url.as_deref(), Some("http://controller:5000/v3"));
        assert_redacted(&c, &c);
        // Every key of the method is required.
        for (key, _) in pairs.iter().filter(|(k, _)| *k != "authType") {
            let without: Vec<_> = pairs.iter().copied().filter(|(k, _)| k != key).collect();
            let err = ProviderCredentials::from_secret(
                ProviderType::OpenStack,
                false,
                Some(&secret(&without)),
            )
            .unwrap_err();
            assert!(
                matches!(err, CredentialError::MissingKey { .. }),
                "{method} without {key}: {err}"
            );
            assert_redacted(&err, &err);
        }
    }
    let err = ProviderCredentials::from_secret(
        ProviderType::OpenStack,
        false,
        Some(&secret(&[("authType", "kerberos")])),
    )
    .unwrap_err();
    assert!(err.to_string().contains("kerberos"));
}

#[test]
fn kubevirt_token_or_local_cluster() {
    let mut provider = Provider::new(
        ObjectMeta::named("ns", "host"),
        ProviderSpec {
            type_: Some(ProviderType::OpenShift),
            ..ProviderSpec::default()
        },
    );
    let c = ProviderCredentials::from_provider(&provider, None).unwrap();
    assert_eq!(
        c.credentials,
        Credentials::KubeVirt(KubeVirtCredentials::LocalCluster)
    );
    provider.spec.url = "https://api.remote:6443".into();
    let err = ProviderCredentials::from_provider(&provider, Some(&secret(&[]))).unwrap_err();
    assert_eq!(
        err,
        CredentialError::MissingKey {
            key: "token",
            auth_type: "KubeVirt token"
        }
    );
    let c = ProviderCredentials::from_provider(&provider, Some(&secret(&[("token", "tok-123")])))
        .unwrap();
    assert_eq!(
        c.credentials,
        Credentials::KubeVirt(KubeVirtCredentials::Token(SecretString::new("tok-123")))
    );
    assert_redacted(&c, &c);
    assert_eq!(
        ProviderCredentials::from_provider(&provider, None).unwrap_err(),
        CredentialError::MissingSecret {
            provider_type: ProviderType::OpenShift
        }
    );
}

#[test]
fn ova_needs_nothing_and_base64_data_is_read() {
    let c = ProviderCredentials::from_secret(ProviderType::Ova, false, None).unwrap();
    assert_eq!(c.credentials, Credentials::Ova);
    let mut s = secret(&[("user", "u")]);
    s.data.insert(
        "password".into(),
        crate::resources::SecretBytes(b"hunter2".to_vec()),
    );
    s.data.insert(
        "insecureSkipVerify".into(),
        crate::resources::SecretBytes(b"true".to_vec()),
    );
    let c = ProviderCredentials::from_secret(ProviderType::VSphere, false, Some(&s)).unwrap();
    assert!(c.tls.insecure_skip_verify);
    assert_eq!(
        c.to_string(),
        "vSphere user u with password, TLS verification skipped"
    );
}

#[test]
fn go_parse_bool() {
    for t in ["1", "t", "T", "TRUE", "true", "True"] {
        assert_eq!(parse_go_bool(t), Some(true), "{t}");
    }
    for f in ["0", "f", "F", "FALSE", "false", "False"] {
        assert_eq!(parse_go_bool(f), Some(false), "{f}");
    }
    for other in ["yes", "", "tRUE", "fAlse", " true", "2"] {
        assert_eq!(parse_go_bool(other), None, "{other:?}");
    }
}

#[test]
fn thumbprint_pins_only_without_ca_or_skip() {
    let pin = "AB:CD:EF";
    let vsphere = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("user", "u"), ("password", "p"), ("thumbprint", pin)];
        pairs.extend_from_slice(extra);
        ProviderCredentials::from_secret(ProviderType::VSphere, false, Some(&secret(&pairs)))
            .unwrap()
    };
    let pinned = vsphere(&[]);
    assert_eq!(pinned.tls.thumbprint.as_deref(), Some(pin));
    assert_eq!(
        pinned.to_string(),
        "vSphere user u with password, pinned certificate thumbprint"
    );
    assert_eq!(
        vsphere(&[("cacert", "pem")]).to_string(),
        "vSphere user u with password, custom CA"
    );
    assert_eq!(
        vsphere(&[("insecureSkipVerify", "1")]).to_string(),
        "vSphere user u with password, TLS verification skipped"
    );
}
