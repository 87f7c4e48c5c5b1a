//! The entities as the rest of the system sees them once loaded: typed ids, parsed enums, instants
//! in storage form (milliseconds) that serialise as RFC 3339 text.

use serde::Serialize;

use crate::client::{ClientStatus, Relationship};
use crate::group::{DeleteBlocker, GroupKind};
use crate::policy::Policies;
use crate::staff::StaffRole;
use crate::{BusinessUnitId, ClientId, GroupId, Millis, OrganizationId, StaffId};

/// Serialises stored milliseconds as RFC 3339 text.
pub mod rfc3339_millis {
    use serde::Serializer;

    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        let text = crate::from_millis(*ms)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub mod option {
        use serde::Serializer;
        pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
            match ms {
                Some(ms) => super::serialize(ms, s),
                None => s.serialize_none(),
            }
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub policies: Policies,
    pub version: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BusinessUnit {
    pub id: BusinessUnitId,
    pub name: String,
    pub version: i64,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Staff {
    pub id: StaffId,
    #[serde(skip)]
    pub organization_id: OrganizationId,
    pub email: String,
    pub name: String,
    pub role: StaffRole,
    pub active: bool,
    pub version: i64,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    /// The password was set by someone else (the first start, a reset) and must be changed at the
    /// next sign-in.
    pub must_change_password: bool,
}

/// A colleague as every staff member may see them: who they are, not their credentials, role or
/// status (those are for admins: `Staff`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Colleague {
    pub id: StaffId,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Client {
    pub id: ClientId,
    pub name: String,
    /// The client's id in the firm's other systems (CRM), unique in the organisation.
    pub external_ref: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: ClientStatus,
    pub relationship: Relationship,
    #[serde(with = "rfc3339_millis::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub relationship_expires_at: Option<Millis>,
    pub business_unit_id: Option<BusinessUnitId>,
    pub notes: Option<String>,
    pub version: i64,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClientGroup {
    pub id: GroupId,
    pub name: String,
    pub kind: GroupKind,
    pub description: Option<String>,
    pub crm_id: Option<String>,
    pub business_unit_id: BusinessUnitId,
    /// Protected groups cannot be deleted until an admin lifts the protection.
    pub protected: bool,
    /// Clients (kind `clients`) or groups (kind `groups`) directly in this group.
    pub member_count: i64,
    pub has_light_logo: bool,
    pub has_dark_logo: bool,
    pub version: i64,
    pub created_by: Option<StaffId>,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    pub updated_by: Option<StaffId>,
    #[serde(with = "rfc3339_millis")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Millis,
}

/// A group with the answers the UI needs to show its delete button.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: ClientGroup,
    /// Groups of groups this group is nested in.
    pub parents: Vec<GroupRef>,
    pub deletable: bool,
    pub delete_blockers: Vec<DeleteBlocker>,
}

/// A short reference to a group, for lists of memberships.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupRef {
    pub id: GroupId,
    pub name: String,
    pub kind: GroupKind,
}

/// A member of a group: a client, or a nested group.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Member {
    Client {
        id: ClientId,
        name: String,
        external_ref: Option<String>,
        status: ClientStatus,
        added_by: Option<StaffId>,
        #[serde(with = "rfc3339_millis")]
        #[schema(value_type = String, format = DateTime)]
        added_at: Millis,
        cause: String,
        /// When the membership ends by itself, if it does.
        #[serde(with = "rfc3339_millis::option")]
        #[schema(value_type = Option<String>, format = DateTime)]
        valid_until: Option<Millis>,
    },
    Group {
        id: GroupId,
        name: String,
        kind: GroupKind,
        added_by: Option<StaffId>,
        #[serde(with = "rfc3339_millis")]
        #[schema(value_type = String, format = DateTime)]
        added_at: Millis,
        cause: String,
    },
}
