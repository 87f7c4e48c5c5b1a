//! Relationship expiry (seed 004): "When a relationship is expired, the client will be removed
//! from the client group". A client whose expiry date passes leaves its groups on the next sweep,
//! which `serve` runs every minute; a client set to `expired` leaves at once (see clients.rs).

use clientele_domain::Result;
use clientele_domain::audit::Cause;
use clientele_store::clients;

use crate::{App, members};

impl App {
    /// Removes lapsed clients from their groups; returns how many memberships ended.
    pub async fn sweep_lapsed_relationships(&self) -> Result<usize> {
        let mut ended = 0;
        loop {
            let mut tx = self.begin().await?;
            // Batches keep each write transaction short (SQLite has one writer).
            let batch = clients::with_lapsed_relationship_in_groups(&mut tx.conn(), self.clock.now(), 500).await?;
            if batch.is_empty() {
                return Ok(ended);
            }
            for (org, client) in batch {
                ended += members::remove_from_all_groups(
                    &mut tx.conn(),
                    org,
                    client,
                    None,
                    Cause::RelationshipExpired,
                    self.clock.now(),
                )
                .await?;
            }
            self.commit(tx).await?;
        }
    }
}
