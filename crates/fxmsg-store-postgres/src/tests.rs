//! The Store contract's suite on PostgreSQL, each case on a new database (see `testing`).

use std::sync::{Arc, Mutex};

use fxmsg_store::conformance::Backend;
use fxmsg_store::Store;

use crate::testing::TempDatabase;
use crate::PgStore;

#[derive(Default)]
struct Postgres {
    databases: Mutex<Vec<TempDatabase>>,
}

#[async_trait::async_trait(?Send)]
impl Backend for Postgres {
    async fn open(&self) -> Arc<dyn Store> {
        let database = TempDatabase::new().await;
        let store = PgStore::open(database.url(), 1024).await.unwrap();
        self.databases.lock().unwrap().push(database);
        Arc::new(store)
    }
}

fxmsg_store::conformance_suite!(Postgres::default());
