//! The benchmark data generator: named sizes, deterministic from a seed, bulk-loaded in seconds,
//! and cached on disk (SQLite) or in the named database (PostgreSQL) so repeated runs skip it.
//!
//! Shape of every size: `levels` of groups, ten children per group, the last level holding
//! clients; every client in one leaf group and one in ten in a second (memberships are
//! "multiple"); one group in twenty below the top also nested under a second parent (diamonds).
//! Staff are assigned wide (a top-level group: about a tenth of all clients), mid (second level)
//! or narrow (a group just above the leaves); one staff member is assigned to 500 groups.

use std::time::Instant;

use anyhow::Context;
use clientele_app::App;
use clientele_domain::{ClientId, GroupId, StaffId};
use clientele_store::sql::Param;
use clientele_store::{Db, bulk};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cmd::sample_names::{SURNAMES, TRADES};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SizeName {
    Small,
    Medium,
    Large,
}

#[derive(Debug, Clone)]
pub struct Size {
    pub name: &'static str,
    pub clients: i64,
    /// Groups per level, top first.
    pub levels: Vec<i64>,
    pub staff: i64,
    /// Time entries, spread over [`ENTRY_DAYS`] days.
    pub time_entries: i64,
}

/// Time entries fall on the days from 2025-01-01 on, this many of them.
pub const ENTRY_DAYS: i32 = 700;
/// 2025-01-01 as days since the Unix epoch.
pub const FIRST_ENTRY_DAY: i32 = 20_089;
/// When the generated memberships began: the day before the first time entry, so every entry
/// counts for its client's groups in reports by the groups of the day of the work too.
pub const MEMBERS_SINCE: i64 = (FIRST_ENTRY_DAY as i64 - 1) * 86_400_000;

impl SizeName {
    pub fn size(self) -> Size {
        match self {
            SizeName::Small => Size {
                name: "small",
                clients: 20_000,
                levels: vec![10, 100, 1_000],
                staff: 2_000,
                time_entries: 200_000,
            },
            SizeName::Medium => Size {
                name: "medium",
                clients: 1_000_000,
                levels: vec![10, 100, 1_000, 10_000],
                staff: 10_000,
                time_entries: 10_000_000,
            },
            SizeName::Large => Size {
                name: "large",
                clients: 10_000_000,
                levels: vec![10, 100, 1_000, 10_000, 100_000],
                staff: 100_000,
                time_entries: 100_000_000,
            },
        }
    }
}

/// What a workload needs to know about a generated data set.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub size: Size,
    pub seed: u64,
    /// Group ids per level, top first.
    pub levels: Vec<Vec<GroupId>>,
    /// Staff assigned to a top-level group (each sees about a tenth of all clients).
    pub wide: Vec<StaffId>,
    /// Staff assigned to a second-level group.
    pub mid: Vec<StaffId>,
    /// Staff assigned just above the leaves (the common case).
    pub narrow: Vec<StaffId>,
    /// One staff member assigned to 500 groups.
    pub busy: StaffId,
    /// Adversarial shape only: a staff member assigned to the top of a 32-deep chain of groups
    /// whose bottom holds clients 1..=1000.
    pub chain: Option<StaffId>,
    /// Adversarial shape only: a staff member assigned to one group holding every client.
    pub everyone: Option<StaffId>,
    pub admin_email: String,
    /// Seconds spent generating (0 when the cache was used).
    pub generated_in: f64,
    /// Seconds the service took to open the data set (loading the access index): its start-up.
    pub loaded_in: f64,
}

pub const ADMIN_EMAIL: &str = "admin@bench.example";
const FIRST_STAFF_ID: i64 = 2;
const FIRST_UNIT_ID: i64 = 2;
const CHUNK: i64 = 50_000;

impl Dataset {
    fn describe(size: &Size, seed: u64, generated_in: f64) -> Dataset {
        let mut levels = Vec::new();
        let mut next = 1;
        for &count in &size.levels {
            levels.push((next..next + count).map(GroupId).collect());
            next += count;
        }
        let staff: Vec<StaffId> = (0..size.staff).map(|j| StaffId(FIRST_STAFF_ID + j)).collect();
        let kind = |j: i64| {
            if j % 100 == 0 {
                0
            } else if j % 10 == 0 {
                1
            } else {
                2
            }
        };
        Dataset {
            size: size.clone(),
            seed,
            wide: staff
                .iter()
                .copied()
                .enumerate()
                .filter(|(j, _)| kind(*j as i64) == 0)
                .map(|(_, s)| s)
                .collect(),
            mid: staff
                .iter()
                .copied()
                .enumerate()
                .filter(|(j, _)| kind(*j as i64) == 1)
                .map(|(_, s)| s)
                .collect(),
            narrow: staff
                .iter()
                .copied()
                .enumerate()
                .filter(|(j, _)| kind(*j as i64) == 2 && *j != 1)
                .map(|(_, s)| s)
                .collect(),
            busy: staff[1],
            chain: None,
            everyone: None,
            levels,
            admin_email: ADMIN_EMAIL.to_string(),
            generated_in,
            loaded_in: 0.0,
        }
    }

    pub fn random_client(&self, rng: &mut StdRng) -> ClientId {
        ClientId(rng.random_range(1..=self.size.clients))
    }
}

/// Opens the data set at `url`, generating it first when the database is empty.
/// The shapes a data set comes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// Levels of ten, diamonds, one staff member with 500 assignments.
    Standard,
    /// The standard shape plus a 32-deep chain of groups (the depth policy raised to allow it)
    /// and one group holding every client, each with a staff member assigned to its top.
    Adversarial,
}

/// Depth of the adversarial chain.
pub const CHAIN_DEPTH: i64 = 32;
/// Clients at the bottom of the chain.
pub const CHAIN_CLIENTS: i64 = 1_000;

pub async fn open(url: &str, size: &Size, seed: u64, shape: Shape) -> anyhow::Result<(App, Dataset)> {
    let db = Db::connect(url).await?;
    db.migrate().await.map_err(clientele_domain::Error::from)?;
    let existing: i64 = {
        let mut conn = db.read().await.map_err(clientele_domain::Error::from)?;
        let mut c = conn.conn();
        clientele_store::on!(&mut c, c => sqlx::query_scalar("SELECT COUNT(*) FROM clients").fetch_one(&mut **c).await)?
    };
    let generated_in = if existing == 0 {
        let started = Instant::now();
        generate(&db, size, seed)
            .await
            .context("generating the benchmark data")?;
        if shape == Shape::Adversarial {
            generate_adversarial(&db, size)
                .await
                .context("generating the adversarial shapes")?;
        }
        started.elapsed().as_secs_f64()
    } else if existing != size.clients {
        anyhow::bail!(
            "{url} holds {existing} clients, not a {} data set; use an empty database",
            size.name
        );
    } else {
        0.0
    };
    // Data sets cached before time entries existed get them now.
    let entries: i64 = {
        let mut conn = db.read().await.map_err(clientele_domain::Error::from)?;
        let mut c = conn.conn();
        clientele_store::on!(&mut c, c => sqlx::query_scalar("SELECT COUNT(*) FROM time_entries").fetch_one(&mut **c).await)?
    };
    let generated_in = if entries == 0 && size.time_entries > 0 {
        let started = Instant::now();
        generate_time_entries(&db, size, seed)
            .await
            .context("generating the benchmark time entries")?;
        generated_in + started.elapsed().as_secs_f64()
    } else {
        generated_in
    };
    // Data sets cached before memberships were dated back get their dates now (the cache's own
    // copy; the workloads that add members write to copies or stay after this date).
    {
        let mut tx = db.begin().await.map_err(clientele_domain::Error::from)?;
        let mut c = tx.conn();
        clientele_store::on!(&mut c, c => sqlx::query(
            "UPDATE group_clients SET added_at = $1 WHERE organization_id = 1 AND added_at > $1 AND cause = 'import' AND added_by IS NULL")
            .bind(MEMBERS_SINCE).execute(&mut **c).await.map(|r| r.rows_affected()))?;
        tx.commit().await.map_err(clientele_domain::Error::from)?;
    }
    let started = Instant::now();
    let app = App::open(db).await?;
    let mut ds = Dataset::describe(size, seed, generated_in);
    if shape == Shape::Adversarial {
        ds.chain = Some(StaffId(FIRST_STAFF_ID + size.staff));
        ds.everyone = Some(StaffId(FIRST_STAFF_ID + size.staff + 1));
    }
    ds.loaded_in = started.elapsed().as_secs_f64();
    Ok((app, ds))
}

async fn generate(db: &Db, size: &Size, seed: u64) -> anyhow::Result<()> {
    let app = App::open(db.clone()).await?;
    app.bootstrap("Bench firm", ADMIN_EMAIL).await?;
    let mut rng = StdRng::seed_from_u64(seed);
    let now = clientele_domain::now_millis();
    let ds = Dataset::describe(size, seed, 0.0);
    let leaves = ds.levels.last().expect("at least one level").clone();
    let mut tx = db.begin().await.map_err(clientele_domain::Error::from)?;
    let e = clientele_domain::Error::from;

    // Business units: one per top-level group.
    let units: Vec<Vec<Param>> = (0..size.levels[0])
        .map(|u| {
            vec![
                Param::I64(FIRST_UNIT_ID + u),
                Param::I64(1),
                format!("Office {u}").into(),
                format!("office {u}").into(),
                Param::I64(now),
                Param::I64(now),
            ]
        })
        .collect();
    bulk::insert(
        &mut tx.conn(),
        "business_units",
        &["id", "organization_id", "name", "name_key", "created_at", "updated_at"],
        units,
    )
    .await
    .map_err(e)?;

    // Staff.
    let mut start = 0;
    while start < size.staff {
        let rows = (start..(start + CHUNK).min(size.staff))
            .map(|j| {
                vec![
                    Param::I64(FIRST_STAFF_ID + j),
                    Param::I64(1),
                    format!("staff{j}@bench.example").into(),
                    format!("Staff {j}").into(),
                    "staff".into(),
                    Param::I64(now),
                    Param::I64(now),
                ]
            })
            .collect();
        bulk::insert(
            &mut tx.conn(),
            "staff",
            &[
                "id",
                "organization_id",
                "email",
                "name",
                "role",
                "created_at",
                "updated_at",
            ],
            rows,
        )
        .await
        .map_err(e)?;
        start += CHUNK;
    }

    // Which top-level subtree a leaf belongs to decides the business unit.
    let per_top = leaves.len() as i64 / size.levels[0];
    let unit_of_leaf = |leaf_index: i64| FIRST_UNIT_ID + leaf_index / per_top.max(1);

    // Memberships per leaf, counted first: groups are written before the rows that refer to them.
    let mut member_count = vec![0i64; leaves.len()];
    for i in 1..=size.clients {
        let leaf = i % leaves.len() as i64;
        member_count[leaf as usize] += 1;
        let second = (i * 7 + 13) % leaves.len() as i64;
        if i % 10 == 0 && second != leaf {
            member_count[second as usize] += 1;
        }
    }

    // Groups and nesting, with diamonds.
    let mut edges = Vec::new();
    for l in 1..ds.levels.len() {
        let parents = &ds.levels[l - 1];
        for (k, &child) in ds.levels[l].iter().enumerate() {
            let parent = parents[k / 10];
            edges.push((parent, child));
            if k % 20 == 7 {
                let other = parents[(k / 10 + 1) % parents.len()];
                if other != parent {
                    edges.push((other, child));
                }
            }
        }
    }
    let mut children = std::collections::HashMap::<GroupId, i64>::new();
    for (p, _) in &edges {
        *children.entry(*p).or_default() += 1;
    }
    let last = ds.levels.len() - 1;
    let mut groups = Vec::new();
    for (l, level) in ds.levels.iter().enumerate() {
        for (k, &g) in level.iter().enumerate() {
            let kind = if l == last { "clients" } else { "groups" };
            let members = if l == last {
                member_count[k]
            } else {
                children.get(&g).copied().unwrap_or(0)
            };
            let top_index = k as i64 / (level.len() as i64 / size.levels[0]).max(1);
            let name = format!("L{l} group {k}");
            groups.push(vec![
                Param::I64(g.0),
                Param::I64(1),
                name.clone().into(),
                name.to_lowercase().into(),
                kind.into(),
                Param::I64(FIRST_UNIT_ID + top_index),
                Param::I64(members),
                Param::I64(now),
                Param::I64(now),
            ]);
        }
    }
    for chunk in groups.chunks(CHUNK as usize) {
        bulk::insert(
            &mut tx.conn(),
            "client_groups",
            &[
                "id",
                "organization_id",
                "name",
                "name_key",
                "kind",
                "business_unit_id",
                "member_count",
                "created_at",
                "updated_at",
            ],
            chunk.to_vec(),
        )
        .await
        .map_err(e)?;
    }
    let edge_rows: Vec<Vec<Param>> = edges
        .iter()
        .map(|(p, c)| {
            vec![
                Param::I64(p.0),
                Param::I64(c.0),
                Param::I64(1),
                Param::I64(now),
                "import".into(),
            ]
        })
        .collect();
    for chunk in edge_rows.chunks(CHUNK as usize) {
        bulk::insert(
            &mut tx.conn(),
            "group_children",
            &["parent_id", "child_id", "organization_id", "added_at", "cause"],
            chunk.to_vec(),
        )
        .await
        .map_err(e)?;
    }

    // Clients and their memberships, in chunks.
    let mut start = 1;
    while start <= size.clients {
        let end = (start + CHUNK).min(size.clients + 1);
        let mut clients = Vec::with_capacity((end - start) as usize);
        let mut memberships = Vec::with_capacity((end - start) as usize * 11 / 10);
        for i in start..end {
            let name = format!(
                "{} {} {i}",
                SURNAMES[rng.random_range(0..SURNAMES.len())],
                TRADES[rng.random_range(0..TRADES.len())]
            );
            let status = match rng.random_range(0..100) {
                0..=89 => "active",
                90..=96 => "inactive",
                _ => "closed",
            };
            let leaf = i % leaves.len() as i64;
            clients.push(vec![
                Param::I64(i),
                Param::I64(1),
                name.to_lowercase().into(),
                name.into(),
                format!("B-{i}").into(),
                status.into(),
                Param::I64(unit_of_leaf(leaf)),
                Param::I64(now),
                Param::I64(now),
            ]);
            let mut join = |leaf: i64| {
                memberships.push(vec![
                    Param::I64(leaves[leaf as usize].0),
                    Param::I64(i),
                    Param::I64(1),
                    Param::I64(MEMBERS_SINCE),
                    "import".into(),
                ]);
            };
            join(leaf);
            let second = (i * 7 + 13) % leaves.len() as i64;
            if i % 10 == 0 && second != leaf {
                join(second);
            }
        }
        bulk::insert(
            &mut tx.conn(),
            "clients",
            &[
                "id",
                "organization_id",
                "name_key",
                "name",
                "external_ref",
                "status",
                "business_unit_id",
                "created_at",
                "updated_at",
            ],
            clients,
        )
        .await
        .map_err(e)?;
        bulk::insert(
            &mut tx.conn(),
            "group_clients",
            &["group_id", "client_id", "organization_id", "added_at", "cause"],
            memberships,
        )
        .await
        .map_err(e)?;
        start = end;
    }

    // Assignments.
    let roles = ["reader", "editor", "manager"];
    let mut assignments = Vec::new();
    let above_leaves = &ds.levels[last.saturating_sub(1)];
    for j in 0..size.staff {
        let staff = FIRST_STAFF_ID + j;
        let role = roles[(j % 3) as usize];
        let mut assign = |g: GroupId| {
            assignments.push(vec![
                Param::I64(staff),
                Param::I64(g.0),
                Param::I64(1),
                role.into(),
                Param::I64(now),
            ])
        };
        if j == 1 {
            for leaf in leaves.iter().step_by((leaves.len() / 500).max(1)).take(500) {
                assign(*leaf);
            }
        } else if j % 100 == 0 {
            assign(ds.levels[0][(j / 100) as usize % ds.levels[0].len()]);
        } else if j % 10 == 0 {
            assign(ds.levels[1.min(last)][(j / 10) as usize % ds.levels[1.min(last)].len()]);
        } else {
            assign(above_leaves[j as usize % above_leaves.len()]);
            if j % 3 == 0 {
                assign(leaves[(j as usize * 31) % leaves.len()]);
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    assignments.retain(|row| matches!((&row[0], &row[1]), (Param::I64(s), Param::I64(g)) if seen.insert((*s, *g))));
    for chunk in assignments.chunks(CHUNK as usize) {
        bulk::insert(
            &mut tx.conn(),
            "assignments",
            &["staff_id", "group_id", "organization_id", "role", "assigned_at"],
            chunk.to_vec(),
        )
        .await
        .map_err(e)?;
    }
    for table in ["business_units", "staff", "clients", "client_groups"] {
        bulk::advance_ids(&mut tx.conn(), table).await.map_err(e)?;
    }
    tx.commit().await.map_err(e)?;
    if let Db::Sqlite(pools) = db {
        sqlx::query("ANALYZE").execute(&pools.write).await?;
    } else if let Db::Postgres(pool) = db {
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    Ok(())
}

/// Time entries: staff members log time on random clients over [`ENTRY_DAYS`] days, 15 minutes to
/// 8 hours, two in three billable, with one of a few services.
async fn generate_time_entries(db: &Db, size: &Size, seed: u64) -> anyhow::Result<()> {
    const SERVICES: [&str; 5] = ["Bookkeeping", "Payroll", "VAT return", "Annual report", "Advice"];
    let e = clientele_domain::Error::from;
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7173);
    let now = clientele_domain::now_millis();
    let mut tx = db.begin().await.map_err(e)?;
    let mut start = 1;
    while start <= size.time_entries {
        let end = (start + CHUNK).min(size.time_entries + 1);
        let rows: Vec<Vec<Param>> = (start..end)
            .map(|id| {
                vec![
                    Param::I64(id),
                    Param::I64(1),
                    Param::I64(FIRST_STAFF_ID + rng.random_range(0..size.staff)),
                    Param::I64(rng.random_range(1..=size.clients)),
                    Param::I64((FIRST_ENTRY_DAY + rng.random_range(0..ENTRY_DAYS)) as i64),
                    Param::I64(15 * rng.random_range(1..=32)),
                    Param::Bool(rng.random_range(0..3) != 0),
                    SERVICES[rng.random_range(0..SERVICES.len())].into(),
                    Param::I64(1),
                    Param::I64(now),
                    Param::I64(now),
                ]
            })
            .collect();
        bulk::insert(
            &mut tx.conn(),
            "time_entries",
            &[
                "id",
                "organization_id",
                "staff_id",
                "client_id",
                "work_day",
                "minutes",
                "billable",
                "service",
                "seq",
                "created_at",
                "updated_at",
            ],
            rows,
        )
        .await
        .map_err(e)?;
        start = end;
    }
    bulk::advance_ids(&mut tx.conn(), "time_entries").await.map_err(e)?;
    clientele_store::on!(&mut tx.conn(), c => sqlx::query("UPDATE time_entry_counter SET seq = 1 WHERE id = 1").execute(&mut **c).await.map(|r| r.rows_affected()))?;
    tx.commit().await.map_err(e)?;
    Ok(())
}

/// The adversarial shapes, added to a freshly generated standard data set: a chain of
/// [`CHAIN_DEPTH`] groups below one another whose bottom holds the first [`CHAIN_CLIENTS`] clients,
/// and one group holding every client; a staff member is assigned (reader) to the top of each.
async fn generate_adversarial(db: &Db, size: &Size) -> anyhow::Result<()> {
    let e = clientele_domain::Error::from;
    let now = clientele_domain::now_millis();
    let first = size.levels.iter().sum::<i64>() + 1;
    let chain: Vec<i64> = (first..first + CHAIN_DEPTH).collect();
    let everyone = first + CHAIN_DEPTH;
    let mut tx = db.begin().await.map_err(e)?;
    clientele_store::on!(&mut tx.conn(), c => sqlx::query("UPDATE organizations SET max_nesting_depth = 40 WHERE id = 1")
        .execute(&mut **c).await.map(|r| r.rows_affected()))?;
    let mut groups = Vec::new();
    for (depth, &g) in chain.iter().enumerate() {
        let bottom = depth as i64 == CHAIN_DEPTH - 1;
        let name = format!("Chain level {depth}");
        groups.push(vec![
            Param::I64(g),
            Param::I64(1),
            name.clone().into(),
            name.to_lowercase().into(),
            if bottom { "clients" } else { "groups" }.into(),
            Param::I64(FIRST_UNIT_ID),
            Param::I64(if bottom { CHAIN_CLIENTS.min(size.clients) } else { 1 }),
            Param::I64(now),
            Param::I64(now),
        ]);
    }
    groups.push(vec![
        Param::I64(everyone),
        Param::I64(1),
        "Everyone".into(),
        "everyone".into(),
        "clients".into(),
        Param::I64(FIRST_UNIT_ID),
        Param::I64(size.clients),
        Param::I64(now),
        Param::I64(now),
    ]);
    bulk::insert(
        &mut tx.conn(),
        "client_groups",
        &[
            "id",
            "organization_id",
            "name",
            "name_key",
            "kind",
            "business_unit_id",
            "member_count",
            "created_at",
            "updated_at",
        ],
        groups,
    )
    .await
    .map_err(e)?;
    let edges = chain
        .windows(2)
        .map(|w| {
            vec![
                Param::I64(w[0]),
                Param::I64(w[1]),
                Param::I64(1),
                Param::I64(now),
                "import".into(),
            ]
        })
        .collect();
    bulk::insert(
        &mut tx.conn(),
        "group_children",
        &["parent_id", "child_id", "organization_id", "added_at", "cause"],
        edges,
    )
    .await
    .map_err(e)?;
    let bottom = *chain.last().expect("a chain");
    let membership = |group: i64, client: i64| {
        vec![
            Param::I64(group),
            Param::I64(client),
            Param::I64(1),
            Param::I64(MEMBERS_SINCE),
            "import".into(),
        ]
    };
    let chain_members = (1..=CHAIN_CLIENTS.min(size.clients))
        .map(|c| membership(bottom, c))
        .collect();
    bulk::insert(
        &mut tx.conn(),
        "group_clients",
        &["group_id", "client_id", "organization_id", "added_at", "cause"],
        chain_members,
    )
    .await
    .map_err(e)?;
    let mut start = 1;
    while start <= size.clients {
        let end = (start + CHUNK).min(size.clients + 1);
        bulk::insert(
            &mut tx.conn(),
            "group_clients",
            &["group_id", "client_id", "organization_id", "added_at", "cause"],
            (start..end).map(|c| membership(everyone, c)).collect(),
        )
        .await
        .map_err(e)?;
        start = end;
    }
    let staff = [FIRST_STAFF_ID + size.staff, FIRST_STAFF_ID + size.staff + 1];
    bulk::insert(
        &mut tx.conn(),
        "staff",
        &[
            "id",
            "organization_id",
            "email",
            "name",
            "role",
            "created_at",
            "updated_at",
        ],
        staff
            .iter()
            .zip(["chain", "everyone"])
            .map(|(&id, what)| {
                vec![
                    Param::I64(id),
                    Param::I64(1),
                    format!("{what}@bench.example").into(),
                    format!("Assigned to {what}").into(),
                    "staff".into(),
                    Param::I64(now),
                    Param::I64(now),
                ]
            })
            .collect(),
    )
    .await
    .map_err(e)?;
    bulk::insert(
        &mut tx.conn(),
        "assignments",
        &["staff_id", "group_id", "organization_id", "role", "assigned_at"],
        vec![
            vec![
                Param::I64(staff[0]),
                Param::I64(chain[0]),
                Param::I64(1),
                "reader".into(),
                Param::I64(now),
            ],
            vec![
                Param::I64(staff[1]),
                Param::I64(everyone),
                Param::I64(1),
                "reader".into(),
                Param::I64(now),
            ],
        ],
    )
    .await
    .map_err(e)?;
    for table in ["staff", "client_groups"] {
        bulk::advance_ids(&mut tx.conn(), table).await.map_err(e)?;
    }
    tx.commit().await.map_err(e)?;
    Ok(())
}
