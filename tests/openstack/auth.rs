//! Keystone: the guide's five Secret methods (plus password by user ID) against the real
//! Keystone, scoping, region, interface, renewal, and the errors of each failure.

use std::time::Duration;

use forklift::core::credentials::{OpenStackAuth, SecretString};
use forklift::providers::Error;
use forklift::providers::openstack::{
    Interface, OpenstackError, OpenstackProvider, Service, Session,
};

use super::support::testbed;

/// Token of the tests' user, issued by password authentication through the provider.
async fn issued_token() -> SecretString {
    let provider = testbed().provider().await;
    provider.session().token().await.unwrap().value.clone()
}

async fn open(auth: OpenStackAuth) -> Result<OpenstackProvider, Error> {
    OpenstackProvider::connect_with(testbed().config(auth)).await
}

/// Every method logs in, is scoped to the tests' project and reaches Nova with its token.
#[tokio::test]
async fn every_secret_method_authenticates_against_keystone() {
    let tb = testbed();
    let token = issued_token().await;
    let methods = [
        tb.user_password(),
        OpenStackAuth::PasswordWithUserId {
            user_id: tb.get("user.user_id"),
            password: SecretString::new(tb.get("user.password")),
            project_id: tb.get("user.project_id"),
        },
        OpenStackAuth::TokenWithUserId {
            token: token.clone(),
            user_id: tb.get("user.user_id"),
            project_id: tb.get("user.project_id"),
        },
        OpenStackAuth::TokenWithUserName {
            token,
            username: tb.get("user.username"),
            project_name: tb.get("user.project"),
            domain_name: tb.get("user.domain"),
        },
        OpenStackAuth::ApplicationCredentialId {
            id: tb.get("application_credential.id"),
            secret: SecretString::new(tb.get("application_credential.secret")),
        },
        OpenStackAuth::ApplicationCredentialName {
            name: tb.get("application_credential.name"),
            secret: SecretString::new(tb.get("application_credential.secret")),
            username: tb.get("user.username"),
            domain_name: tb.get("user.domain"),
        },
    ];
    for auth in methods {
        let method = auth.method_name();
        let provider = open(auth)
            .await
            .unwrap_or_else(|e| panic!("{method}: {}", forklift::core::error::chain(&e)));
        let token = provider.session().token().await.unwrap();
        assert_eq!(
            token.project_id.as_deref(),
            Some(tb.get("user.project_id").as_str()),
            "{method}"
        );
        assert_eq!(token.user_id, tb.get("user.user_id"), "{method}");
        let flavors: serde_json::Value = provider
            .session()
            .get(Service::Compute, "/flavors", "listing flavors")
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert!(flavors["flavors"].is_array(), "{method}");
    }
}

fn expect_openstack(result: Result<OpenstackProvider, Error>) -> OpenstackError {
    match result {
        Err(Error::Openstack(e)) => e,
        Err(other) => panic!("not an OpenStack error: {other}"),
        Ok(_) => panic!("authentication succeeded"),
    }
}

#[tokio::test]
async fn a_wrong_password_is_a_refusal_naming_the_method() {
    let tb = testbed();
    let auth = OpenStackAuth::Password {
        username: tb.get("user.username"),
        password: SecretString::new("not-the-password"),
        project_name: tb.get("user.project"),
        domain_name: tb.get("user.domain"),
    };
    let err = expect_openstack(open(auth).await);
    assert!(matches!(err, OpenstackError::AuthRefused { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with("OpenStack password authentication"),
        "{text}"
    );
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(!text.contains("not-the-password"), "{text}");

    let auth = OpenStackAuth::ApplicationCredentialId {
        id: tb.get("application_credential.id"),
        secret: SecretString::new("wrong-secret"),
    };
    let err = expect_openstack(open(auth).await);
    assert!(matches!(err, OpenstackError::AuthRefused { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("OpenStack application credential ID authentication"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unknown_project_is_told_apart_from_wrong_credentials() {
    let tb = testbed();
    let auth = OpenStackAuth::Password {
        username: tb.get("user.username"),
        password: SecretString::new(tb.get("user.password")),
        project_name: "no-such-project".into(),
        domain_name: tb.get("user.domain"),
    };
    let err = expect_openstack(open(auth).await);
    let OpenstackError::UnknownProject { project, .. } = &err else {
        panic!("{err}")
    };
    assert!(project.contains("no-such-project"), "{err}");
    assert!(err.to_string().contains("credentials are valid"), "{err}");

    let token = issued_token().await;
    let auth = OpenStackAuth::TokenWithUserId {
        token,
        user_id: tb.get("user.user_id"),
        project_id: "00000000000000000000000000000000".into(),
    };
    let err = expect_openstack(open(auth).await);
    assert!(
        matches!(err, OpenstackError::UnknownProject { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("OpenStack token with user ID authentication"),
        "{err}"
    );
}

#[tokio::test]
async fn a_region_without_endpoints_is_a_missing_endpoint() {
    let tb = testbed();
    let mut config = tb.config(tb.user_password());
    config.region = Some("Atlantis".into());
    let err = match OpenstackProvider::connect_with(config).await {
        Err(Error::Openstack(e)) => e,
        other => panic!("{other:?}"),
    };
    let OpenstackError::MissingEndpoint {
        service_type,
        interface,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*service_type, *interface), ("compute", "public"));
    assert!(err.to_string().contains("region 'Atlantis'"), "{err}");

    // The testbed's region works.
    let mut config = tb.config(tb.user_password());
    config.region = Some(tb.get("region"));
    OpenstackProvider::connect_with(config).await.unwrap();
}

/// The testbed's internal endpoints are on `localhost`, the public ones on 127.0.0.1.
#[tokio::test]
async fn the_interface_setting_selects_catalog_endpoints() {
    let tb = testbed();
    let public = tb.provider().await;
    let url = public.session().endpoint(Service::Image).await.unwrap();
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    let mut config = tb.config(tb.user_password());
    config.interface = Interface::Internal;
    let internal = OpenstackProvider::connect_with(config).await.unwrap();
    let url = internal.session().endpoint(Service::Image).await.unwrap();
    assert_eq!(url.host_str(), Some("localhost"));
    let images: serde_json::Value = internal
        .session()
        .get(Service::Image, "/images", "listing images")
        .await
        .unwrap();
    assert!(images["images"].is_array());
}

/// With a renewal margin longer than the token's life, every request renews it first.
#[tokio::test]
async fn tokens_are_renewed_before_they_expire() {
    let tb = testbed();
    let http = reqwest::Client::new();
    let config = std::sync::Arc::new(tb.config(tb.user_password()));
    let session = Session::open(http, config)
        .await
        .unwrap()
        .with_renew_margin(Duration::from_secs(10 * 24 * 3600));
    let first = session.token().await.unwrap();
    let renewals = session.renewals();
    let _: serde_json::Value = session
        .get(Service::Compute, "/flavors", "listing flavors")
        .await
        .unwrap();
    assert!(session.renewals() > renewals);
    let second = session.token().await.unwrap();
    assert_ne!(first.value.expose(), second.value.expose());

    // With the default margin a fresh token is kept.
    let session = Session::open(
        reqwest::Client::new(),
        std::sync::Arc::new(tb.config(tb.user_password())),
    )
    .await
    .unwrap();
    session.token().await.unwrap();
    assert_eq!(session.renewals(), 0);
}
