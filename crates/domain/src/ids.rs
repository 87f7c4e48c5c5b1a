//! Typed identifiers. Every entity has its own id type so a client id can never be passed where a
//! group id is expected. Ids are dense 64-bit integers handed out by the database: they key the
//! compact in-memory structures (bitmaps) that the access index builds over millions of rows.

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident;)*) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
                 serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = i64)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    )*};
}

id_type! {
    /// A firm: the tenant. Nothing ever crosses organisations.
    OrganizationId;
    /// An office, location or brand of the firm.
    BusinessUnitId;
    /// A person of the firm (account manager, employee, agent).
    StaffId;
    /// A client of the firm.
    ClientId;
    /// A client group (of clients, or of client groups).
    GroupId;
    /// One entry of the audit trail.
    AuditEventId;
    /// One stretch of work by a staff member for a client.
    TimeEntryId;
    /// A report's filters and grouping saved under a name.
    SavedReportId;
    /// A program account of a client (seed 004).
    ProgramAccountId;
    /// A tracked background operation (an upload, a bulk change, a large deletion).
    ProcessRequestId;
}
