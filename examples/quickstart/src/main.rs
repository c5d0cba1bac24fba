use fxmsg_client::{Client, Credentials, SendMessage};

#[tokio::main]
async fn main() -> Result<(), fxmsg_client::Error> {
    // What the server printed at its first start (its `export` lines).
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let client = Client::builder(var("FXMSG_URL")) // or https://open.fxiaoke.com
        .credentials(Credentials::new(
            var("FXMSG_APP_ID"),
            var("FXMSG_APP_SECRET"),
            var("FXMSG_PERMANENT_CODE"),
        ))
        .build()?;
    let sent = client
        .send(&SendMessage::text(["1000"], "Build 512 passed"))
        .await?;
    println!("sent {}", sent.message_id);
    Ok(())
}
