//! Every error a user can see names the thing to change: the path, the address, the field, the
//! argument. One test per place a newcomer met an error that did not.

use std::sync::Arc;

use fxmsg_server::{Config, Server, SystemClock};

use crate::support::ADMIN_TOKEN;

fn config(dir: &std::path::Path) -> Config {
    let mut config = Config::new(dir, "127.0.0.1:0".parse().unwrap());
    config.admin_token = Some(ADMIN_TOKEN.into());
    config
}

async fn start_error(config: &Config) -> String {
    match Server::build(config, Arc::new(SystemClock)).await {
        Ok(_) => panic!("the server started"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_second_server_on_the_same_data_directory_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = Server::build(&config(dir.path()), Arc::new(SystemClock))
        .await
        .unwrap();
    let refused = start_error(&config(dir.path())).await;
    assert!(
        refused.contains(&dir.path().display().to_string())
            && refused.contains("in use by another fxmsg")
            && refused.contains(&format!("pid {}", std::process::id()))
            && refused.contains("--data-dir"),
        "{refused}"
    );
    // Once the first is gone, the directory is free again.
    drop(first);
    Server::build(&config(dir.path()), Arc::new(SystemClock))
        .await
        .unwrap();
}

#[tokio::test]
async fn start_errors_name_the_address_and_the_path() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut busy = config(dir.path());
    busy.listen = addr.into();
    let e = start_error(&busy).await;
    assert!(
        e.starts_with(&format!("cannot listen on {addr}: ")) && e.contains("--listen"),
        "{e}"
    );

    // A data directory below a regular file cannot be created.
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let e = start_error(&config(&file.join("data"))).await;
    assert!(
        e.starts_with(&file.join("data").display().to_string()),
        "{e}"
    );

    // A token key that is not one names its file.
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("token.key"), "not hex").unwrap();
    let e = start_error(&config(other.path())).await;
    assert!(e.contains("token.key"), "{e}");
}

#[tokio::test]
async fn a_host_name_and_a_bare_port_are_listen_addresses() {
    for listen in ["localhost:0", ":0"] {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.listen = listen.parse().unwrap();
        let (server, _) = Server::build(&config, Arc::new(SystemClock)).await.unwrap();
        let port = server.local_addr().port();
        assert_ne!(port, 0, "{listen}");
        let url = format!("http://127.0.0.1:{port}/livez");
        let task = tokio::spawn(server.run(std::future::pending()));
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 200, "{listen}");
        task.abort();
    }
}
