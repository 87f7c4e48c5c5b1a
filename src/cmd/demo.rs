//! `clientele demo --clients N`: a realistic demo organisation, deterministic from a seed: business
//! units, clients with mixed statuses, groups of clients per segment and office, and a group of
//! client groups per region, all made through the same use cases as the API (so every rule and
//! audit event applies).

use anyhow::Context;
use clientele_app::clients::ClientInput;
use clientele_app::groups::NewGroup;
use clientele_app::members::MemberRef;
use clientele_app::{Actor, App};
use clientele_domain::audit::Cause;
use clientele_domain::client::ClientStatus;
use clientele_domain::group::GroupKind;
use clientele_domain::staff::StaffRole;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::sample_names::{SURNAMES, TRADES};
use crate::cli::DemoArgs;

const SUFFIXES: &[&str] = &["Ltd", "LLC", "& Sons", "GmbH", "Co.", "Partners", "Group", "Inc."];
const OFFICES: &[&str] = &["Head office", "North office", "South office", "Online brand"];
const SEGMENTS: &[&str] = &[
    "VIP",
    "Trade customers",
    "Annual report clients",
    "One-time service",
    "Marketing opt-in",
    "Potential clients",
];

pub async fn run(app: &App, args: &DemoArgs) -> anyhow::Result<()> {
    let first_admin = app
        .bootstrap("Demo firm", "admin@example.com")
        .await?
        .map(|b| b.admin)
        .or(None);
    let org_admin = match first_admin {
        Some(a) => a,
        None => {
            let email = format!("demo-admin-{}@example.com", args.seed);
            app.create_staff_cli(&email, "Demo admin", StaffRole::Admin, None)
                .await
                .context("cannot create the demo admin")?
        }
    };
    let actor = Actor {
        staff_id: org_admin.id,
        organization_id: org_admin.organization_id,
        role: StaffRole::Admin,
        request_id: None,
    };
    let admin = actor.admin()?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let tag = args.seed;

    let mut units = Vec::new();
    for office in OFFICES {
        let name = format!("{office} {tag}");
        units.push(app.create_business_unit(admin, &name).await?);
    }
    let mut clients = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        let name = format!(
            "{} {} {}",
            SURNAMES[rng.random_range(0..SURNAMES.len())],
            TRADES[rng.random_range(0..TRADES.len())],
            SUFFIXES[rng.random_range(0..SUFFIXES.len())]
        );
        let status = match rng.random_range(0..20) {
            0 => ClientStatus::Closed,
            1 | 2 => ClientStatus::Inactive,
            _ => ClientStatus::Active,
        };
        let client = app
            .create_client(
                admin,
                ClientInput {
                    name: Some(name),
                    external_ref: Some(format!("CRM-{tag}-{i:07}")),
                    email: Some(format!("contact{i}@client{tag}.example")),
                    status: Some(status),
                    business_unit_id: Some(Some(units[i % units.len()].id)),
                    ..Default::default()
                },
            )
            .await?;
        clients.push(client.id);
    }
    let mut regions = Vec::new();
    for (u, unit) in units.iter().enumerate() {
        let region = app
            .create_group(
                admin,
                NewGroup {
                    name: format!("All of {}", unit.name),
                    kind: GroupKind::Groups,
                    business_unit_id: unit.id,
                    description: Some(format!("Every client group of {}", unit.name)),
                    crm_id: None,
                    protected: u == 0,
                    members: Vec::new(),
                },
            )
            .await?;
        regions.push(region.group.id);
        for segment in SEGMENTS {
            let group = app
                .create_group(
                    admin,
                    NewGroup {
                        name: format!("{segment} – {}", unit.name),
                        kind: GroupKind::Clients,
                        business_unit_id: unit.id,
                        description: Some(format!("{segment} served by {}", unit.name)),
                        crm_id: Some(format!("SEG-{tag}-{u}-{}", segment.len())),
                        protected: false,
                        members: Vec::new(),
                    },
                )
                .await?;
            let members: Vec<MemberRef> = clients
                .iter()
                .enumerate()
                .filter(|(i, _)| i % units.len() == u && rng.random_range(0..SEGMENTS.len()) == 0)
                .map(|(_, &c)| MemberRef::Client(c))
                .collect();
            app.add_members(&actor, group.group.id, &members, Cause::Bulk, None)
                .await?;
            app.add_members(
                &actor,
                region.group.id,
                &[MemberRef::Group(group.group.id)],
                Cause::Manual,
                None,
            )
            .await?;
        }
    }
    println!(
        "demo organisation filled: {} business units, {} clients, {} groups ({} groups of client groups)",
        units.len(),
        clients.len(),
        units.len() * (SEGMENTS.len() + 1),
        regions.len()
    );
    Ok(())
}
