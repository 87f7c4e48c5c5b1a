//! The workloads. Each measures ours and the hand-written baseline on the same data in the same
//! run, and checks that both gave the same answers.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_app::members::MemberRef;
use clientele_app::{Actor, App, Cursor};
use clientele_domain::audit::Cause;
use clientele_domain::client::ClientStatus;
use clientele_domain::group::GroupKind;
use clientele_domain::staff::StaffRole;
use clientele_domain::{ClientId, GroupId, OrganizationId, StaffId, now_millis};
use clientele_store::{Backend, on};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::baseline;
use super::data::{self, Dataset};
use super::load::{self, Req, Server};
use super::stats::{Report, Samples};

const CONCURRENCY: usize = 32;

fn backend_name(app: &App) -> &'static str {
    match app.db.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// The admin the generator created first (staff 1 of organisation 1).
fn admin() -> Actor {
    Actor {
        staff_id: StaffId(1),
        organization_id: OrganizationId(1),
        role: StaffRole::Admin,
        request_id: None,
    }
}

/// Staff as they come: mostly narrow assignments, some mid, a few wide.
pub(super) fn sample_pairs(ds: &Dataset, rng: &mut StdRng, n: usize) -> Vec<(StaffId, ClientId)> {
    (0..n)
        .map(|_| {
            let pool = match rng.random_range(0..100) {
                0..=79 => &ds.narrow,
                80..=94 => &ds.mid,
                _ => &ds.wide,
            };
            (pool[rng.random_range(0..pool.len())], ds.random_client(rng))
        })
        .collect()
}

pub async fn check(app: &App, ds: &Dataset) -> anyhow::Result<Report> {
    let mut rep = Report::new("check", ds.size.name, backend_name(app));
    let mut rng = StdRng::seed_from_u64(ds.seed ^ 0xC0FFEE);
    let pairs = sample_pairs(ds, &mut rng, 200_000);
    let now = now_millis();
    for &(s, c) in pairs.iter().take(20_000) {
        black_box(app.access.role(s, c, now));
    }
    let mut samples = Samples::default();
    let mut allowed = 0usize;
    for &(s, c) in &pairs {
        let t = Instant::now();
        let role = app.access.role(s, c, now);
        samples.push(t);
        allowed += role.is_some() as usize;
    }
    let t = Instant::now();
    for &(s, c) in &pairs {
        black_box(app.access.role(s, c, now));
    }
    rep.ours(&samples, pairs.len() as f64 / t.elapsed().as_secs_f64());

    // The staff member assigned to 500 groups (adversarial).
    let mut busy = Samples::default();
    for _ in 0..20_000 {
        let c = ds.random_client(&mut rng);
        let t = Instant::now();
        black_box(app.access.role(ds.busy, c, now));
        busy.push(t);
    }
    rep.note("busy_staff_500_groups_p99_us", round(busy.percentile(99.0)));

    // Adversarial shapes: through 32 levels of nesting, and through one group of every client.
    if let Some(chain) = ds.chain {
        let mut deep = Samples::default();
        let mut allowed = 0;
        for i in 0..20_000 {
            let c = ClientId(i % data::CHAIN_CLIENTS.min(ds.size.clients) + 1);
            let t = Instant::now();
            allowed += app.access.role(chain, c, now).is_some() as usize;
            deep.push(t);
        }
        anyhow::ensure!(allowed == 20_000, "the chain's bottom clients are visible from its top");
        rep.note("chain_32_deep_p99_us", round(deep.percentile(99.0)));
    }
    if let Some(everyone) = ds.everyone {
        let mut all = Samples::default();
        for _ in 0..20_000 {
            let c = ds.random_client(&mut rng);
            let t = Instant::now();
            black_box(app.access.role(everyone, c, now));
            all.push(t);
        }
        rep.note("one_group_of_every_client_p99_us", round(all.percentile(99.0)));
    }

    let mut conn = app.db.read().await?;
    let mut base = Samples::default();
    let mut disagreements = 0;
    let started = Instant::now();
    for &(s, c) in pairs.iter().take(2_000) {
        if started.elapsed() > Duration::from_secs(15) {
            break;
        }
        let t = Instant::now();
        let rank = baseline::check(&mut conn.conn(), s.0, c.0).await?;
        base.push(t);
        disagreements += (rank.is_some() != app.access.role(s, c, now).is_some()) as usize;
    }
    let base_rate = base.0.len() as f64 / started.elapsed().as_secs_f64();
    rep.baseline("sql recursive CTE", &base, base_rate);
    rep.note("allowed_fraction", round(allowed as f64 / pairs.len() as f64));
    rep.note("disagreements_with_baseline", disagreements);
    rep.note("index_mb", round(app.access.approximate_bytes() as f64 / 1e6));
    rep.note("index_load_s", round(ds.loaded_in));
    Ok(rep.finish())
}

/// Opens the data set inside a server's own runtime and serves the real router.
fn start_ours(url: &str, ds: &Dataset) -> anyhow::Result<Server> {
    let (url, size, seed) = (url.to_string(), ds.size.clone(), ds.seed);
    let shape = if ds.chain.is_some() {
        data::Shape::Adversarial
    } else {
        data::Shape::Standard
    };
    Server::start(move || async move {
        let (app, ds) = data::open(&url, &size, seed, shape).await?;
        let token = app.create_token(&ds.admin_email, "bench").await?;
        Ok((
            clientele_web::router(app, &clientele_web::WebSettings::default()),
            token,
        ))
    })
}

fn start_baseline(url: &str) -> anyhow::Result<Server> {
    let url = url.to_string();
    Server::start(move || async move {
        let db = clientele_store::Db::connect(&url).await?;
        Ok((baseline::router(db), String::new()))
    })
}

pub async fn check_http(url: &str, ds: &Dataset, duration: Duration) -> anyhow::Result<Report> {
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let mut rep = Report::new("check-http", ds.size.name, backend);
    let mut rng = StdRng::seed_from_u64(ds.seed ^ 0xBEEF);
    let pairs = Arc::new(sample_pairs(ds, &mut rng, 100_000));
    let pick = |pairs: Arc<Vec<(StaffId, ClientId)>>, ours: bool| -> Arc<dyn Fn(usize, u64) -> Req + Send + Sync> {
        Arc::new(move |worker, n| {
            let (s, c) = pairs[(worker * 7919 + n as usize * 31) % pairs.len()];
            if ours {
                Req::get(format!("/api/v1/access/check?staff={s}&client={c}"))
            } else {
                Req::get(format!("/check?staff={s}&client={c}"))
            }
        })
    };
    let ours = {
        let server = start_ours(url, ds)?;
        let (a, t) = (server.address.clone(), server.token.clone());
        tokio::task::spawn_blocking({
            let next = pick(pairs.clone(), true);
            move || load::run(a, t, CONCURRENCY, duration, next)
        })
        .await?
    };
    let base = {
        let server = start_baseline(url)?;
        let (a, t) = (server.address.clone(), server.token.clone());
        tokio::task::spawn_blocking({
            let next = pick(pairs.clone(), false);
            move || load::run(a, t, CONCURRENCY, duration, next)
        })
        .await?
    };
    rep.ours(&ours.samples, ours.ops_per_s());
    rep.baseline("sql recursive CTE behind axum", &base.samples, base.ops_per_s());
    rep.note("errors", ours.errors);
    rep.note("baseline_errors", base.errors);
    rep.note(
        "split",
        format!(
            "server: 1 thread; load: 1 thread, {CONCURRENCY} keep-alive connections; {}s each",
            duration.as_secs()
        ),
    );
    Ok(rep.finish())
}

pub async fn list(app: &App, ds: &Dataset) -> anyhow::Result<Report> {
    let mut rep = Report::new("list", ds.size.name, backend_name(app));
    let staff = ds.wide[0];
    let actor = Actor {
        staff_id: staff,
        organization_id: OrganizationId(1),
        role: StaffRole::Staff,
        request_id: None,
    };
    let filter = clientele_domain::client::ClientFilter {
        statuses: vec![ClientStatus::Active],
        ..Default::default()
    };
    let mut conn = app.db.read().await?;
    // Every visible client by name, from the baseline, to pick deep cursors and compare totals.
    let (everything, base_total) = baseline::list(&mut conn.conn(), staff.0, ("", 0), i64::MAX).await?;
    let mut rng = StdRng::seed_from_u64(ds.seed ^ 0x1157);
    let cursors: Vec<(String, i64)> = (0..200)
        .map(|_| {
            let (id, key) = &everything[rng.random_range(everything.len() / 2..everything.len())];
            (key.clone(), *id)
        })
        .collect();

    let first = app.my_clients(&actor, &filter, None, Some(50)).await?;
    anyhow::ensure!(
        first.total as i64 == base_total,
        "totals differ: ours {} baseline {base_total}",
        first.total
    );
    let ours_ids: Vec<i64> = first.items.iter().map(|c| c.id.0).collect();
    let base_ids: Vec<i64> = everything.iter().take(50).map(|(id, _)| *id).collect();
    anyhow::ensure!(ours_ids == base_ids, "first pages differ");

    let mut first_page = Samples::default();
    let started = Instant::now();
    for _ in 0..500 {
        let t = Instant::now();
        black_box(app.my_clients(&actor, &filter, None, Some(50)).await?);
        first_page.push(t);
    }
    let rate = 500.0 / started.elapsed().as_secs_f64();
    let mut deep = Samples::default();
    for (key, id) in &cursors {
        let cursor = Cursor {
            key: key.clone(),
            id: *id,
        }
        .encode();
        let t = Instant::now();
        black_box(app.my_clients(&actor, &filter, Some(&cursor), Some(50)).await?);
        deep.push(t);
    }
    rep.ours(&first_page, rate);
    rep.note("deep_page_p50_us", round(deep.percentile(50.0)));
    rep.note("deep_page_p99_us", round(deep.percentile(99.0)));
    rep.note("visible_clients", base_total);
    // Adversarial: a staff member who sees every client through one group.
    if let Some(everyone) = ds.everyone {
        let actor = Actor {
            staff_id: everyone,
            ..actor.clone()
        };
        let mut pages = Samples::default();
        for _ in 0..200 {
            let t = Instant::now();
            black_box(app.my_clients(&actor, &filter, None, Some(50)).await?);
            pages.push(t);
        }
        rep.note(
            "one_group_of_every_client_first_page_p99_us",
            round(pages.percentile(99.0)),
        );
    }

    let mut base_first = Samples::default();
    let started = Instant::now();
    let mut runs = 0;
    while runs < 200 && started.elapsed() < Duration::from_secs(20) {
        let t = Instant::now();
        black_box(baseline::list(&mut conn.conn(), staff.0, ("", 0), 50).await?);
        base_first.push(t);
        runs += 1;
    }
    let base_rate = runs as f64 / started.elapsed().as_secs_f64();
    let mut base_deep = Samples::default();
    for (key, id) in cursors.iter().take(runs.max(5)) {
        let t = Instant::now();
        black_box(baseline::list(&mut conn.conn(), staff.0, (key, *id), 50).await?);
        base_deep.push(t);
    }
    rep.baseline("sql recursive CTE page + count", &base_first, base_rate);
    rep.note("baseline_deep_page_p50_us", round(base_deep.percentile(50.0)));
    Ok(rep.finish())
}

pub async fn change(app: &App, ds: &Dataset) -> anyhow::Result<Report> {
    let mut rep = Report::new("change", ds.size.name, backend_name(app));
    let admin = admin();
    let now = now_millis();
    let stamp = now.to_string();
    let unit = clientele_domain::BusinessUnitId(1);
    let new_group = |name: String, kind: GroupKind| clientele_app::groups::NewGroup {
        name,
        kind,
        business_unit_id: unit,
        description: None,
        crm_id: None,
        protected: false,
        members: Vec::new(),
    };
    let watcher = ds.narrow[0];
    let target = app
        .create_group(
            admin.admin()?,
            new_group(format!("bench change {stamp}"), GroupKind::Clients),
        )
        .await?
        .group
        .id;
    app.assign(
        admin.admin()?,
        target,
        watcher,
        clientele_access::AccessRole::Reader,
        None,
    )
    .await?;

    let mut rng = StdRng::seed_from_u64(ds.seed ^ 0xC4A9);
    let unseen = |rng: &mut StdRng| loop {
        let c = ds.random_client(rng);
        if app.access.role(watcher, c, now_millis()).is_none() {
            return c;
        }
    };
    let mut ours = Samples::default();
    let started = Instant::now();
    for _ in 0..200 {
        let c = unseen(&mut rng);
        let t = Instant::now();
        app.add_members(&admin, target, &[MemberRef::Client(c)], Cause::Manual, None)
            .await?;
        anyhow::ensure!(
            app.access.role(watcher, c, now_millis()).is_some(),
            "a change was not visible"
        );
        ours.push(t);
        app.remove_members(&admin, target, &[MemberRef::Client(c)], Cause::Manual, None)
            .await?;
    }
    let rate = 200.0 / started.elapsed().as_secs_f64();
    rep.ours(&ours, rate);

    // Baseline: the same membership written with plain SQL, then the CTE check.
    let mut base = Samples::default();
    let started = Instant::now();
    for _ in 0..200 {
        let c = unseen(&mut rng);
        let t = Instant::now();
        let mut tx = app.db.begin().await?;
        {
            let mut conn = tx.conn();
            on!(&mut conn, c2 => sqlx::query("INSERT INTO group_clients (group_id, client_id, organization_id, added_at, cause) VALUES ($1, $2, 1, 0, 'manual')")
                .bind(target.0).bind(c.0).execute(&mut **c2).await.map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
        let mut conn = app.db.read().await?;
        anyhow::ensure!(
            baseline::check(&mut conn.conn(), watcher.0, c.0).await?.is_some(),
            "baseline did not see it"
        );
        base.push(t);
        let mut tx = app.db.begin().await?;
        {
            let mut conn = tx.conn();
            on!(&mut conn, c2 => sqlx::query("DELETE FROM group_clients WHERE group_id = $1 AND client_id = $2")
                .bind(target.0).bind(c.0).execute(&mut **c2).await.map(|r| r.rows_affected()))?;
        }
        tx.commit().await?;
    }
    rep.baseline(
        "plain SQL insert + CTE check",
        &base,
        200.0 / started.elapsed().as_secs_f64(),
    );

    // Nesting a top-level group (about a tenth of all clients) under a new group of groups.
    let big = ds.levels[0][0];
    let holder = app
        .create_group(
            admin.admin()?,
            new_group(format!("bench nest {stamp}"), GroupKind::Groups),
        )
        .await?
        .group
        .id;
    let second = ds.narrow[1];
    app.assign(
        admin.admin()?,
        holder,
        second,
        clientele_access::AccessRole::Reader,
        None,
    )
    .await?;
    let probe = (1..=ds.size.clients)
        .map(ClientId)
        .find(|c| {
            app.access.role(ds.wide[0], *c, now_millis()).is_some()
                && app.access.role(second, *c, now_millis()).is_none()
        })
        .ok_or_else(|| anyhow::anyhow!("no probe client"))?;
    let t = Instant::now();
    app.add_members(&admin, holder, &[MemberRef::Group(big)], Cause::Manual, None)
        .await?;
    let nested_ms = t.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        app.access.role(second, probe, now_millis()).is_some(),
        "nesting was not visible"
    );
    rep.note("nest_large_group_visible_ms", round(nested_ms));
    rep.note("nested_group_clients", app.access.visible_count(second, now_millis()));

    // Leave the data set as it was.
    app.remove_members(&admin, holder, &[MemberRef::Group(big)], Cause::Manual, None)
        .await?;
    app.unassign(admin.admin()?, holder, second).await?;
    app.unassign(admin.admin()?, target, watcher).await?;
    app.delete_group(admin.admin()?, holder, None).await?;
    app.delete_group(admin.admin()?, target, None).await?;
    Ok(rep.finish())
}

pub async fn mixed(url: &str, ds: &Dataset, duration: Duration) -> anyhow::Result<Report> {
    let backend = if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    };
    let mut rep = Report::new("mixed", ds.size.name, backend);
    let mut rng = StdRng::seed_from_u64(ds.seed ^ 0x313);
    let pairs = Arc::new(sample_pairs(ds, &mut rng, 50_000));
    let leaves: Arc<Vec<GroupId>> = Arc::new(ds.levels.last().cloned().unwrap_or_default());
    let mid = ds.mid.clone();
    let clients = ds.size.clients;
    // 80% checks, 10% lists, 10% membership writes (each connection adds, then removes, one
    // client of its own, so the data set ends as it began).
    let next = |ours: bool| -> Arc<dyn Fn(usize, u64) -> Req + Send + Sync> {
        let (pairs, leaves, mid) = (pairs.clone(), leaves.clone(), mid.clone());
        Arc::new(move |worker, n| {
            let i = (worker * 7919 + n as usize * 31) % pairs.len();
            let (s, c) = pairs[i];
            let group = leaves[worker % leaves.len()];
            let own_client = clients - worker as i64;
            match (n % 10, ours) {
                (0, true) => Req::get(format!("/api/v1/staff/{}/clients?limit=50", mid[i % mid.len()])),
                (0, false) => Req::get(format!("/list?staff={}", mid[i % mid.len()])),
                (5, true) if (n / 10) % 2 == 0 => Req::post(
                    format!("/api/v1/groups/{group}/members"),
                    format!("{{\"client_ids\":[{own_client}]}}"),
                ),
                (5, true) => Req::post(
                    format!("/api/v1/groups/{group}/members/remove"),
                    format!("{{\"client_ids\":[{own_client}]}}"),
                ),
                (5, false) => Req::post(format!("/toggle?group={group}&client={own_client}"), String::new()),
                (_, true) => Req::get(format!("/api/v1/access/check?staff={s}&client={c}")),
                (_, false) => Req::get(format!("/check?staff={s}&client={c}")),
            }
        })
    };
    let ours = {
        let server = start_ours(url, ds)?;
        let (a, t) = (server.address.clone(), server.token.clone());
        let next = next(true);
        tokio::task::spawn_blocking(move || load::run(a, t, CONCURRENCY, duration, next)).await?
    };
    let base = {
        let server = start_baseline(url)?;
        let (a, t) = (server.address.clone(), server.token.clone());
        let next = next(false);
        tokio::task::spawn_blocking(move || load::run(a, t, CONCURRENCY, duration, next)).await?
    };
    rep.ours(&ours.samples, ours.ops_per_s());
    rep.baseline("sql recursive CTEs + plain writes", &base.samples, base.ops_per_s());
    rep.note("errors", ours.errors);
    rep.note("baseline_errors", base.errors);
    rep.note(
        "mix",
        "80% checks, 10% lists of a mid staff member, 10% membership writes",
    );
    Ok(rep.finish())
}

/// Writes served by one node and by three nodes on one PostgreSQL database (issue 15): what the
/// single change-log counter costs when several processes write. Each of `CONCURRENCY`
/// connections adds one client of its own to a group and removes it again (every such write takes
/// the next number of the access change log, held to commit); for comparison, renaming a saved
/// report changes nothing of access and takes no number. The nodes are separate services in this
/// process (each its own pool, access index and change-log follower), each on its own thread.
pub async fn nodes(url: &str, ds: &Dataset, duration: Duration) -> anyhow::Result<Report> {
    let mut rep = Report::new(
        "nodes",
        ds.size.name,
        if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        },
    );
    if url.starts_with("sqlite") {
        rep.note(
            "skipped",
            "several nodes share one PostgreSQL database; SQLite has one writer",
        );
        return Ok(rep.finish());
    }
    let leaves: Arc<Vec<GroupId>> = Arc::new(ds.levels.last().cloned().unwrap_or_default());
    let clients = ds.size.clients;
    let membership: Arc<dyn Fn(usize, u64) -> Req + Send + Sync> = {
        let leaves = leaves.clone();
        Arc::new(move |worker, n| {
            let group = leaves[worker % leaves.len()];
            let own_client = clients - 100 - worker as i64;
            let verb = if n % 2 == 0 { "members" } else { "members/remove" };
            Req::post(
                format!("/api/v1/groups/{group}/{verb}"),
                format!("{{\"client_ids\":[{own_client}]}}"),
            )
        })
    };
    // One saved report per connection, renamed back and forth.
    let (app, _) = data::open(url, &ds.size, ds.seed, data::Shape::Standard).await?;
    let actor = app.cli_admin(Some(ds.admin_email.as_str())).await?;
    let mut reports = Vec::new();
    for worker in 0..CONCURRENCY {
        let name = format!("bench nodes {worker}");
        let existing = app.saved_reports(&actor).await?.into_iter().find(|r| r.name == name);
        let id = match existing {
            Some(r) => r.id,
            None => {
                let fields = clientele_app::reports::SavedReportFields {
                    name: name.clone(),
                    visibility: clientele_domain::report::Visibility::Private,
                    params: Default::default(),
                };
                app.create_saved_report(&actor, &fields).await?.id
            }
        };
        reports.push(id);
    }
    let reports = Arc::new(reports);
    let rename: Arc<dyn Fn(usize, u64) -> Req + Send + Sync> = Arc::new(move |worker, n| {
        Req::put(
            format!("/api/v1/saved-reports/{}", reports[worker].0),
            format!(
                "{{\"name\":\"bench nodes {worker}{}\"}}",
                if n % 2 == 0 { " (renamed)" } else { "" }
            ),
        )
    });
    let mut runs = Vec::new();
    for (what, next) in [("membership", membership), ("rename", rename)] {
        for nodes in [1usize, 3] {
            let servers = (0..nodes)
                .map(|_| start_ours(url, ds))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let per_node = CONCURRENCY / nodes;
            let loads: Vec<_> = servers
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let connections = if i + 1 == nodes {
                        CONCURRENCY - per_node * (nodes - 1)
                    } else {
                        per_node
                    };
                    let offset = i * per_node;
                    let next = next.clone();
                    let shifted: Arc<dyn Fn(usize, u64) -> Req + Send + Sync> =
                        Arc::new(move |w, n| next(w + offset, n));
                    load::run_until(
                        s.address.clone(),
                        s.token.clone(),
                        connections,
                        load::Until::Elapsed(duration),
                        shifted,
                    )
                })
                .collect();
            let mut result = load::LoadResult::default();
            for l in loads {
                let r = l.join().map_err(|_| anyhow::anyhow!("load thread"))?;
                result.samples.0.extend(r.samples.0);
                result.errors += r.errors;
                result.elapsed = result.elapsed.max(r.elapsed);
            }
            drop(servers);
            runs.push((what, nodes, result));
        }
    }
    for (what, nodes, r) in &runs {
        let key = format!("{what}_{nodes}_node");
        rep.note(&format!("{key}_ops_per_s"), round(r.ops_per_s()));
        rep.note(&format!("{key}_p50_us"), round(r.samples.percentile(50.0)));
        rep.note(&format!("{key}_p99_us"), round(r.samples.percentile(99.0)));
        rep.note(&format!("{key}_errors"), r.errors);
    }
    let (_, _, one) = &runs[0];
    let (_, _, three) = &runs[1];
    rep.ours(&three.samples, three.ops_per_s());
    rep.baseline("the same writes through 1 node", &one.samples, one.ops_per_s());
    rep.note(
        "three_over_one_node_ops",
        round(three.ops_per_s() / one.ops_per_s().max(1e-9)),
    );
    let (_, _, rename_one) = &runs[2];
    let (_, _, rename_three) = &runs[3];
    rep.note(
        "rename_three_over_one_node_ops",
        round(rename_three.ops_per_s() / rename_one.ops_per_s().max(1e-9)),
    );
    rep.note("connections", CONCURRENCY);
    Ok(rep.finish())
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Time by client group over a year for an admin (every group, nested groups rolled up) and for a
/// staff member who sees a tenth of the firm, against the SQL GROUP BY a team would write.
pub async fn report(app: &App, ds: &Dataset) -> anyhow::Result<Report> {
    use clientele_domain::report::ReportParams;
    use clientele_domain::time_entry::Day;

    let mut rep = Report::new("report", ds.size.name, backend_name(app));
    // Earlier workloads' baselines write memberships with plain SQL, behind the index's back: a
    // fresh process sees the tables as they are, as the SQL does.
    let fresh = App::open(app.db.clone()).await?;
    let app = &fresh;
    let from = Day(data::FIRST_ENTRY_DAY + data::ENTRY_DAYS - 365);
    let to = Day(data::FIRST_ENTRY_DAY + data::ENTRY_DAYS - 1);
    let params = ReportParams {
        from: Some(from.to_string()),
        to: Some(to.to_string()),
        ..Default::default()
    };
    let admin = Actor {
        staff_id: StaffId(1),
        organization_id: OrganizationId(1),
        role: StaffRole::Admin,
        request_id: None,
    };
    let loading = Instant::now();
    app.warm_reports().await?;
    rep.note("ledger_load_ms", round(loading.elapsed().as_secs_f64() * 1e3));
    rep.note("ledger_mb", round(app.reports.ledger.approximate_bytes() as f64 / 1e6));

    let mut samples = Samples::default();
    let started = Instant::now();
    let runs = if ds.size.time_entries > 1_000_000 { 30 } else { 100 };
    for _ in 0..runs {
        let t = Instant::now();
        black_box(app.time_report(&admin, &params, Some(1000)).await?);
        samples.push(t);
    }
    rep.ours(&samples, runs as f64 / started.elapsed().as_secs_f64());

    let staff = Actor {
        staff_id: ds.wide[0],
        role: StaffRole::Staff,
        ..admin.clone()
    };
    let mut staff_samples = Samples::default();
    for _ in 0..runs {
        let t = Instant::now();
        black_box(app.time_report(&staff, &params, Some(1000)).await?);
        staff_samples.push(t);
    }
    rep.note("staff_report_p50_us", round(staff_samples.percentile(50.0)));
    rep.note("staff_report_p99_us", round(staff_samples.percentile(99.0)));
    let by_client = ReportParams {
        by: Some("client".into()),
        ..params.clone()
    };
    // The first run after the staff member's also prepares the admin's view of the index again.
    let mut by_client_samples = Samples::default();
    for _ in 0..5 {
        let t = Instant::now();
        black_box(app.time_report(&admin, &by_client, Some(1000)).await?);
        by_client_samples.push(t);
    }
    rep.note("by_client_first_ms", round(by_client_samples.0[0] / 1e3));
    rep.note("by_client_p50_ms", round(by_client_samples.percentile(50.0) / 1e3));

    // Same answers: every group's minutes, ours against the SQL (after the timed runs, so a
    // profiler can watch ours alone first).
    let ours = app.time_report(&admin, &params, None).await?;
    let mut conn = app.db.read().await?;
    let sql = baseline::report_by_group(&mut conn.conn(), from.0, to.0).await?;
    let mut ours_groups: Vec<(i64, i64)> = ours
        .rows
        .iter()
        .filter(|r| r.kind == "group")
        .map(|r| (r.id.unwrap_or_default(), r.minutes as i64))
        .collect();
    ours_groups.sort_unstable();
    anyhow::ensure!(
        ours_groups == sql,
        "group totals differ: ours {} groups, SQL {} groups",
        ours_groups.len(),
        sql.len()
    );
    rep.note("entries_in_range", ours.total.entries);
    rep.note("groups_with_time", ours_groups.len());

    let mut base = Samples::default();
    let started = Instant::now();
    let mut base_runs = 0;
    while base_runs < 3 && (base_runs == 0 || started.elapsed() < Duration::from_secs(30)) {
        let t = Instant::now();
        black_box(baseline::report_by_group(&mut conn.conn(), from.0, to.0).await?);
        base.push(t);
        base_runs += 1;
    }
    rep.baseline(
        "sql recursive CTE + GROUP BY",
        &base,
        base_runs as f64 / started.elapsed().as_secs_f64(),
    );
    Ok(rep.finish())
}
