//! vSphere and OpenStack peers that answer a login with a redirect to another host, scripted
//! over raw TCP: the redirect is never followed (a 307 keeps the method and body, so the
//! password would go along), and the call fails with the status.

mod common;

use std::io::Write;

use common::raw_http::{Elsewhere, redirect, serve};
use forklift_core::credentials::{OpenStackAuth, SecretString};
use forklift_providers::openstack::{OpenstackConfig, OpenstackProvider};
use forklift_providers::vsphere::{VsphereConfig, VsphereProvider};

const PASSWORD: &str = "hunter2";

#[tokio::test]
async fn vsphere_login_redirected_elsewhere_is_not_followed() {
    let elsewhere = Elsewhere::start();
    let location = elsewhere.url.clone();
    // The service content is answered as recorded, so the redirect meets the Login itself.
    let service_content = include_str!("data/vim25/RetrieveServiceContent.xml");
    let sdk = serve(move |request, stream| {
        if request.contains("RetrieveServiceContent") {
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{service_content}",
                service_content.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        } else {
            assert!(request.contains(PASSWORD), "not the Login: {request}");
            redirect(stream, &location);
        }
    });
    let config = VsphereConfig::new_plain_http(
        &format!("http://{sdk}/sdk"),
        "administrator@vsphere.local",
        SecretString::new(PASSWORD),
    )
    .unwrap();
    let err = VsphereProvider::connect_with(config).await.unwrap_err();
    let text = forklift_core::error::chain(&err);
    assert!(text.contains("307"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    elsewhere.assert_untouched();
}

#[tokio::test]
async fn openstack_token_request_redirected_elsewhere_is_not_followed() {
    let elsewhere = Elsewhere::start();
    let location = elsewhere.url.clone();
    let keystone = serve(move |request, stream| {
        assert!(
            request.contains(PASSWORD),
            "not the token request: {request}"
        );
        redirect(stream, &location);
    });
    let auth = OpenStackAuth::Password {
        username: "admin".into(),
        password: SecretString::new(PASSWORD),
        project_name: "admin".into(),
        domain_name: "Default".into(),
    };
    let config =
        OpenstackConfig::new("hostile", &format!("http://{keystone}/identity/v3"), auth).unwrap();
    let err = OpenstackProvider::connect_with(config).await.unwrap_err();
    let text = forklift_core::error::chain(&err);
    assert!(text.contains("307"), "{text}");
    assert!(!text.contains(PASSWORD), "{text}");
    elsewhere.assert_untouched();
}
