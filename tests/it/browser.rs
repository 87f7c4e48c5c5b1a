//! The seeds' stories in a real browser: Debian's Chromium driven through chromedriver with
//! fantoccini. Each test starts its own server on 127.0.0.1 (port 0) and its own chromedriver on a
//! free port, and stops both when it ends. Without chromedriver these tests fail; they are never
//! skipped (`apt-get install chromium chromium-driver`, see README.md).
//!
//! Set `CLIENTELE_SCREENSHOTS=/some/dir` to keep a PNG of each page the stories check.

use crate::common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use clientele_app::clients::ClientInput;
use clientele_app::groups::NewGroup;
use clientele_app::members::MemberRef;
use clientele_app::{Actor, App};
use clientele_domain::client::ClientStatus;
use clientele_domain::group::GroupKind;
use clientele_domain::staff::StaffRole;
use clientele_domain::{BusinessUnitId, ClientId, GroupId};
use clientele_store::Db;
use common::TestDb;

/// A server on a fresh database, in this process, listening on a free loopback port.
struct Server {
    base: String,
    app: App,
    admin: Actor,
    unit: BusinessUnitId,
    email: String,
    password: String,
    task: tokio::task::JoinHandle<()>,
    _db: TestDb,
}

impl Server {
    async fn start(postgres: bool) -> Server {
        let db = if postgres {
            TestDb::postgres().await
        } else {
            TestDb::sqlite().await
        };
        let pool = Db::connect(db.url()).await.expect("connect");
        pool.migrate().await.expect("migrate");
        let app = App::open(pool).await.expect("open");
        let first = app
            .bootstrap("Browser firm", "admin@firm.example")
            .await
            .unwrap()
            .expect("fresh database");
        let admin = Actor {
            staff_id: first.admin.id,
            organization_id: first.organization.id,
            role: StaffRole::Admin,
            request_id: None,
        };
        // The printed password must be changed at the first sign-in (a story of its own below);
        // these stories start with one the admin chose.
        let password = "browser stories password 1".to_string();
        app.change_password(&admin, &first.password, &password, None)
            .await
            .unwrap();
        let unit = app.business_units(&admin, None, None).await.unwrap().items[0].id;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let router = clientele_web::router(app.clone(), &clientele_web::WebSettings::default());
        let task = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .unwrap();
        });
        Server {
            base,
            app,
            admin,
            unit,
            email: first.admin.email,
            password,
            task,
            _db: db,
        }
    }

    async fn client(&self, name: &str, status: ClientStatus) -> ClientId {
        let input = ClientInput {
            name: Some(name.into()),
            status: Some(status),
            ..ClientInput::default()
        };
        self.app
            .create_client(self.admin.admin().unwrap(), input)
            .await
            .unwrap()
            .id
    }

    async fn group(&self, name: &str, kind: GroupKind, members: Vec<MemberRef>) -> GroupId {
        let new = NewGroup {
            name: name.into(),
            kind,
            business_unit_id: self.unit,
            description: None,
            crm_id: None,
            protected: false,
            members,
        };
        self.app
            .create_group(self.admin.admin().unwrap(), new)
            .await
            .unwrap()
            .group
            .id
    }
    /// A staff member (not an admin) who signs in with `password`, with `role` on `group`.
    async fn staff_on(
        &self,
        (email, name, password): (&str, &str, &str),
        group: GroupId,
        role: clientele_access::AccessRole,
    ) -> clientele_domain::StaffId {
        let person = self
            .app
            .create_staff_cli(email, name, StaffRole::Staff, Some(password))
            .await
            .unwrap();
        self.app
            .assign(self.admin.admin().unwrap(), group, person.id, role, None)
            .await
            .unwrap();
        person.id
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// chromedriver on a free port, killed when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    /// Ends chromedriver and the Chromium it started: they share the process group created for
    /// chromedriver, so a test that panicked before closing its session leaves no browser behind.
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("chromedriver is required for the browser tests ({e}); install it with `apt-get install -y --no-install-recommends chromium chromium-driver`")
        });
    let profile = tempfile::tempdir().unwrap();
    let mut driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: profile,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = driver.child.try_wait() {
            panic!("chromedriver exited early: {status}");
        }
        assert!(Instant::now() < deadline, "chromedriver did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

fn chromium_binary() -> String {
    for candidate in [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ] {
        if std::path::Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!(
        "Chromium is required for the browser tests; install it with `apt-get install -y --no-install-recommends chromium chromium-driver`"
    );
}

/// A headless Chromium session and the server it talks to.
struct Browser {
    client: Client,
    base: String,
    _driver: Driver,
}

impl Browser {
    async fn open(base: &str, width: u32, height: u32) -> Browser {
        let driver = start_driver();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--disable-quic".into(),
            format!("--user-data-dir={}", driver._profile.path().display()),
            format!("--window-size={width},{height}"),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": chromium_binary(), "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver.url)
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            base: base.to_string(),
            _driver: driver,
        }
    }

    async fn go(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
        self.wait_for_new_page().await;
    }

    async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css(selector))
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let page = self.page_source().await;
                panic!("no element {selector}: {e}\n{page}")
            }
        }
    }

    async fn page_source(&self) -> String {
        self.client.source().await.unwrap_or_default()
    }

    /// Clicks something that stays on the page (a checkbox, a tab, a radio).
    async fn click(&self, selector: &str) {
        let e = self.css(selector).await;
        e.click().await.unwrap_or_else(|e| panic!("click {selector}: {e}"));
    }

    /// Clicks something that loads a new page, and waits for it.
    async fn follow(&self, selector: &str) {
        self.mark().await;
        self.click(selector).await;
        self.wait_for_new_page().await;
    }

    /// Marks the current document so that a new one can be told apart.
    async fn mark(&self) {
        self.client
            .execute("window.__clienteleOld = true;", vec![])
            .await
            .unwrap();
    }

    async fn wait_for_new_page(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let fresh = self
                .client
                .execute(
                    "return window.__clienteleOld === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if fresh {
                return;
            }
            assert!(Instant::now() < deadline, "the page did not change");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }

    async fn type_in(&self, selector: &str, text: &str) {
        let e = self.css(selector).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    async fn select(&self, selector: &str, label: &str) {
        self.css(selector).await.select_by_label(label).await.unwrap();
    }

    /// Clicks the submit button with this text.
    async fn press(&self, text: &str) {
        let xpath = format!(
            "//button[normalize-space()='{text}' and not(contains(@class, 'default-submit'))] | //a[normalize-space()='{text}']"
        );
        let e = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::XPath(&xpath))
            .await
            .unwrap_or_else(|e| panic!("no button {text}: {e}"));
        self.mark().await;
        e.click().await.unwrap_or_else(|e| panic!("press {text}: {e}"));
        self.wait_for_new_page().await;
    }

    async fn text(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    async fn page_text(&self) -> String {
        self.text("body").await
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_string()
    }

    /// Every visible form control on the page has a `<label>`, and no button is unnamed.
    async fn assert_labelled(&self) {
        let unlabelled = self
            .client
            .execute(
                "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
                   .filter(e => !e.classList.contains('default-submit') && e.labels.length === 0)
                   .map(e => e.outerHTML)
                   .concat(Array.from(document.querySelectorAll('button'))
                   .filter(b => !b.textContent.trim() && !b.getAttribute('aria-label'))
                   .map(b => b.outerHTML));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            unlabelled,
            json!([]),
            "controls without a label on {}",
            self.path().await
        );
    }

    async fn shot(&self, name: &str) {
        self.assert_labelled().await;
        if let Ok(dir) = std::env::var("CLIENTELE_SCREENSHOTS") {
            let png = self.client.screenshot().await.unwrap();
            std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
        }
    }

    async fn sign_in(&self, email: &str, password: &str) {
        self.go("/groups").await;
        self.type_in("#email", email).await;
        self.type_in("#password", password).await;
        self.press("Sign in").await;
        self.css("h1").await;
        assert_eq!(self.path().await, "/groups", "{}", self.page_text().await);
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// A small valid PNG written to a file the browser can upload.
fn png_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), 4, 4);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&[200u8; 4 * 4 * 4]).unwrap();
    writer.finish().unwrap();
    path.display().to_string()
}

// -----------------------------------------------------------------------------------------------

/// Seed 000: sign in, "+", a Group of Clients picked by search with a logo, a Group of Client
/// Groups over it, the nested group's delete greyed out with the reason, and a typed DELETE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_create_groups_nest_them_and_delete_with_typed_delete() {
    let s = Server::start(false).await;
    s.client("North Bakery Ltd", ClientStatus::Active).await;
    s.client("South Bakery Ltd", ClientStatus::Active).await;
    s.client("Harbour Shipping", ClientStatus::Active).await;
    s.group("Spare", GroupKind::Clients, vec![]).await;
    s.group("<script>alert(1)</script>", GroupKind::Clients, vec![]).await;
    let files = tempfile::tempdir().unwrap();
    let logo = png_file(files.path(), "light.png");

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    assert!(b.text("h1").await.contains("Client Groups"));
    // User text is shown as text, never run.
    assert!(b.text("#groups").await.contains("<script>alert(1)</script>"));
    assert!(b.client.get_alert_text().await.is_err(), "no script ran");

    // "+" -> New Client Group, Settings tab.
    b.follow("a[aria-label='New client group']").await;
    assert_eq!(b.text("h1").await, "New Client Group");
    b.type_in("#name", "Bakeries").await;
    b.click("input[name=kind][value=clients]").await;
    assert!(
        !b.css("#picker-groups").await.is_displayed().await.unwrap(),
        "only the Clients picker shows"
    );
    b.type_in("#client_q", "bakery").await;
    b.press("Search").await;
    b.css("input[name=pick]").await;
    b.click("#picker-clients input[data-select-all]").await;
    b.press("Add").await;
    let chips = b.text("#picker-clients .chips").await;
    assert!(
        chips.contains("North Bakery Ltd") && chips.contains("South Bakery Ltd"),
        "{chips}"
    );
    assert!(!chips.contains("Harbour"));
    // "x" takes one out again, then it goes back in.
    b.follow("button[aria-label='Remove South Bakery Ltd']").await;
    assert!(!b.text("#picker-clients .chips").await.contains("South Bakery"));
    b.type_in("#client_q", "south").await;
    b.press("Search").await;
    b.click("input[name=pick]").await;
    b.press("Add").await;
    assert_eq!(
        b.css("#name").await.prop("value").await.unwrap().as_deref(),
        Some("Bakeries"),
        "typed text survives"
    );
    b.type_in("#crm_id", "CRM-BAK").await;
    b.select("#business_unit_id", "Main office").await;
    b.shot("000-new-group-settings").await;
    // Branding tab: a light logo with a preview.
    // The tabs answer the arrow keys.
    b.css("#tab-settings").await.send_keys("\u{E014}").await.unwrap();
    assert!(b.css("#branding").await.is_displayed().await.unwrap());
    assert!(!b.css("#settings").await.is_displayed().await.unwrap());
    assert_eq!(
        b.client
            .active_element()
            .await
            .unwrap()
            .attr("id")
            .await
            .unwrap()
            .as_deref(),
        Some("tab-branding")
    );
    b.css("#logo_light").await.send_keys(&logo).await.unwrap();
    b.css("label[for=logo_light] img:not([hidden])").await;
    b.shot("000-new-group-branding").await;
    b.press("Save").await;
    b.css("#member-count").await;
    assert_eq!(b.text("h1").await, "Bakeries");
    assert!(b.text(".flash").await.contains("has been created"));
    assert_eq!(b.text("#member-count").await, "2");
    b.css("img.logo-thumb.light").await;
    let members = b.text("#members").await;
    assert!(members.contains("North Bakery Ltd") && members.contains("South Bakery Ltd"));
    b.shot("000-group-page").await;

    // A Group of Client Groups over it.
    b.go("/groups/new").await;
    b.type_in("#name", "All food clients").await;
    b.click("input[name=kind][value=groups]").await;
    assert!(!b.css("#picker-clients").await.is_displayed().await.unwrap());
    b.type_in("#group_q", "bake").await;
    b.follow("#picker-groups button[value=search_groups]").await;
    b.click("#picker-groups input[name=pick]").await;
    b.follow("#picker-groups button[value=add_groups]").await;
    assert!(b.text("#picker-groups .chips").await.contains("Bakeries"));
    b.press("Save").await;
    b.css("#member-count").await;
    assert_eq!(b.text("h1").await, "All food clients");
    assert!(b.text("#members").await.contains("Bakeries"));

    // The list: Bakeries cannot be deleted, and says why.
    b.go("/groups").await;
    // The reasons are the greyed icon's tooltip, shown on hover and on keyboard focus.
    let row = b
        .css("tr[data-group='Bakeries'] .tip")
        .await
        .prop("textContent")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(row.contains("only empty groups can be deleted"), "{row}");
    assert!(row.contains("All food clients"), "{row}");
    b.click("tr[data-group='Bakeries'] [aria-label='Cannot delete Bakeries']")
        .await;
    assert!(
        b.css("tr[data-group='Bakeries'] .tip")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    // Escape puts it away (it may cover what is below it).
    b.css("tr[data-group='Bakeries'] [aria-label='Cannot delete Bakeries']")
        .await
        .send_keys("\u{e00c}")
        .await
        .unwrap();
    assert!(
        !b.css("tr[data-group='Bakeries'] .tip")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    b.css("tr[data-group='Bakeries'] [aria-label='Cannot delete Bakeries'][aria-disabled=true]")
        .await;
    b.shot("000-groups-list").await;

    // Trash on an empty group: type DELETE.
    b.follow("a[aria-label='Delete Spare']").await;
    assert!(b.text("#touches").await.contains("This touches 0 clients"));
    b.shot("004-delete-confirm").await;
    b.type_in("#confirm", "delete").await;
    b.press("Delete group").await;
    assert!(b.text(".field-error").await.contains("Type DELETE"));
    // Keyboard only: the word, then Enter.
    b.type_in("#confirm", "DELETE").await;
    b.mark().await;
    b.css("#confirm").await.send_keys("\u{E007}").await.unwrap();
    b.wait_for_new_page().await;
    b.css("#groups").await;
    assert_eq!(b.path().await, "/groups");
    assert!(b.text(".flash").await.contains("“Spare” has been deleted"));
    assert!(!b.text("#groups").await.contains("Spare"));
    b.close().await;
}

/// Seeds 001 and 002: the client profile's "Add to group" and "x", and bulk add and remove from
/// the clients list behind a typed CONFIRM.
async fn clients_story(postgres: bool) {
    let s = Server::start(postgres).await;
    let ann = s.client("Ann's Annual Reports", ClientStatus::Active).await;
    s.client("Bob's Bookkeeping", ClientStatus::Active).await;
    s.client("Closed Corner Shop", ClientStatus::Closed).await;
    s.group("Annual report clients", GroupKind::Clients, vec![]).await;
    s.group("VIP", GroupKind::Clients, vec![]).await;

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.follow("nav a[href='/clients']").await;
    b.css("#clients").await;
    let list = b.text("#clients").await;
    assert!(list.contains("Ann's Annual Reports") && !list.contains("Closed Corner Shop"));
    b.click("input[name=include_inactive]").await;
    b.press("Filter").await;
    assert!(b.text("#clients").await.contains("Closed Corner Shop"));
    b.shot("002-clients-list").await;

    // Profile: Add to group, badge, x.
    b.go(&format!("/clients/{ann}")).await;
    b.select("#group_id", "Annual report clients").await;
    b.press("Add to group").await;
    b.css("#client-groups").await;
    assert!(b.text("#client-groups").await.contains("Annual report clients"));
    b.select("#group_id", "VIP").await;
    b.press("Add to group").await;
    let badges = b.text("#client-groups").await;
    assert!(
        badges.contains("Annual report clients") && badges.contains("VIP"),
        "{badges}"
    );
    b.shot("001-client-profile").await;
    b.follow("button[aria-label='Remove from VIP']").await;
    b.css(".flash").await;
    assert!(!b.text("#client-groups").await.contains("VIP"));

    // Bulk add from the list.
    b.go("/clients").await;
    b.click("input[aria-label=\"Select Ann's Annual Reports\"]").await;
    b.click("input[aria-label=\"Select Bob's Bookkeeping\"]").await;
    b.select("#group_id", "VIP").await;
    b.press("Add to group…").await;
    assert!(b.text("#touches").await.contains("This touches 2 clients"));
    b.shot("002-bulk-confirm").await;
    b.type_in("#confirm", "CONFIRM").await;
    b.press("Save changes").await;
    assert!(b.text("#summary").await.contains("2 added"));
    // Filter the list by the group.
    b.go("/clients").await;
    b.select("#group", "VIP").await;
    b.press("Filter").await;
    let vip = b.text("#clients").await;
    assert!(vip.contains("Ann's Annual Reports") && vip.contains("Bob's Bookkeeping"));
    // Bulk remove from the filtered list.
    b.click("#clients input[data-select-all]").await;
    b.select("#group_id", "VIP").await;
    b.press("Remove from group…").await;
    assert!(b.text("#touches").await.contains("This touches 2 clients"));
    b.type_in("#confirm", "CONFIRM").await;
    b.press("Save changes").await;
    assert!(b.text("#summary").await.contains("2 removed"));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_001_002_client_profile_and_bulk_actions_on_sqlite() {
    clients_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_001_002_client_profile_and_bulk_actions_on_postgres() {
    clients_story(true).await;
}

/// Seeds 003 and 004: the group page shows which other groups each member is in, removes with
/// checkboxes and a typed CONFIRM, keeps a timeline; then the organisation's policies change in
/// Settings and a staff member is added, at phone width.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_003_004_group_page_members_and_settings() {
    let s = Server::start(false).await;
    let a = s.client("Alpha Trading", ClientStatus::Active).await;
    let c = s.client("Gamma Imports", ClientStatus::Active).await;
    let vip = s
        .group(
            "VIP",
            GroupKind::Clients,
            vec![MemberRef::Client(a), MemberRef::Client(c)],
        )
        .await;
    s.group("Monthly payroll", GroupKind::Clients, vec![MemberRef::Client(a)])
        .await;

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.follow(&format!("#groups a[href='/groups/{vip}']")).await;
    b.css("#members").await;
    assert_eq!(b.path().await, format!("/groups/{vip}"));
    let members = b.text("#members").await;
    assert!(
        members.contains("Monthly payroll"),
        "Alpha is also in Monthly payroll: {members}"
    );
    b.shot("003-group-page").await;
    b.click("input[aria-label='Select Gamma Imports']").await;
    b.press("Remove selected…").await;
    assert!(b.text("#touches").await.contains("This touches 1 client"));
    b.press("Save changes").await;
    assert!(b.text("#confirm-error").await.contains("Type CONFIRM"));
    b.type_in("#confirm", "CONFIRM").await;
    b.press("Save changes").await;
    assert!(b.text("#summary").await.contains("1 removed"));
    b.go(&format!("/groups/{vip}")).await;
    assert_eq!(b.text("#member-count").await, "1");
    let history = b.text("#timeline").await;
    assert!(
        history.contains("removed the client Gamma Imports") && history.contains("created the group"),
        "{history}"
    );

    // Edit: a rename alone saves at once.
    b.follow("a[aria-label='Edit VIP']").await;
    b.type_in("#name", "VIP clients").await;
    b.press("Save").await;
    b.css("#member-count").await;
    assert_eq!(b.text("h1").await, "VIP clients");
    // Edit with a member taken out ("x"): the count shows, then CONFIRM is asked.
    b.follow("a[aria-label='Edit VIP clients']").await;
    b.type_in("#description", "Our most valued clients").await;
    b.follow("button[aria-label='Remove Alpha Trading']").await;
    assert!(
        b.text("#pending")
            .await
            .contains("1 client removed. This touches 1 client.")
    );
    // Undo, then take it out again.
    b.follow("button[aria-label='Keep Alpha Trading']").await;
    assert!(
        b.client.find(Locator::Id("pending")).await.is_err(),
        "nothing pending after the undo"
    );
    b.follow("button[aria-label='Remove Alpha Trading']").await;
    assert!(b.text("#picker-clients .chips").await.contains("removed"));
    assert_eq!(
        b.css("#description").await.prop("value").await.unwrap().as_deref(),
        Some("Our most valued clients"),
        "typed text survives the x"
    );
    b.press("Save").await;
    assert!(b.text("#confirm-error").await.contains("Type CONFIRM"));
    b.shot("004-edit-confirm").await;
    b.type_in("#confirm", "CONFIRM").await;
    b.press("Save").await;
    b.css("#member-count").await;
    assert_eq!(b.text("#member-count").await, "0");
    assert!(b.page_text().await.contains("Our most valued clients"));
    b.close().await;

    // Settings at phone width. A client in two groups stops the switch to exclusive membership.
    let duo = s.client("Delta Duo", ClientStatus::Active).await;
    s.group("First of two", GroupKind::Clients, vec![MemberRef::Client(duo)])
        .await;
    s.group("Second of two", GroupKind::Clients, vec![MemberRef::Client(duo)])
        .await;
    let b = Browser::open(&s.base, 390, 844).await;
    b.sign_in(&s.email, &s.password).await;
    b.shot("000-groups-phone").await;
    b.follow("nav a[href='/settings']").await;
    b.click("input[name=delete_policy][value=detach_members]").await;
    b.click("input[name=reserve_deleted_names]").await;
    // Exclusive membership is refused while Delta Duo is in two groups, and the refusal names it.
    b.click("input[name=membership_mode][value=exclusive]").await;
    b.press("Save policies").await;
    assert!(b.text("#membership_mode-error").await.contains("Delta Duo"));
    assert!(
        b.css("input[name=reserve_deleted_names]")
            .await
            .is_selected()
            .await
            .unwrap(),
        "input kept"
    );
    b.click("input[name=membership_mode][value=multiple]").await;
    b.type_in("#max_nesting_depth", "4").await;
    b.press("Save policies").await;
    b.css(".flash").await;
    let org = s.app.organization(&s.admin).await.unwrap();
    assert!(org.policies.reserve_deleted_names);
    assert_eq!(org.policies.max_nesting_depth, 4);
    b.type_in("#staff_email", "junior@firm.example").await;
    b.type_in("#staff_name", "Junior Agent").await;
    b.type_in("#staff_password", "a long enough password").await;
    b.press("Add staff member").await;
    b.css(".flash").await;
    assert!(b.text("#staff").await.contains("Junior Agent"));
    b.shot("004-settings-phone").await;
    b.close().await;
}

/// The first admin signs in right after `clientele serve` starts on an empty database, with the
/// password it printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_signs_in_with_the_password_serve_printed() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let mut serve = Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(["--database-url", &url, "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = serve.stdout.take().unwrap();
    let serve = Kill(serve);
    let (mut email, mut password, mut base) = (String::new(), String::new(), String::new());
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.trim().strip_prefix("admin e-mail:") {
            email = rest.trim().to_string();
        }
        if let Some(rest) = line.trim().strip_prefix("admin password:") {
            password = rest.split_whitespace().next().unwrap().to_string();
        }
        if let Some(rest) = line.strip_prefix("Clientele is listening on ") {
            base = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    assert!(!email.is_empty() && !password.is_empty() && !base.is_empty());
    let b = Browser::open(&base, 1280, 900).await;
    // The printed password opens the account page only, until it is replaced.
    b.go("/login").await;
    b.type_in("#email", &email).await;
    b.type_in("#password", &password).await;
    b.press("Sign in").await;
    assert_eq!(b.path().await, "/account");
    b.css("#must-change").await;
    b.go("/groups").await;
    assert_eq!(b.path().await, "/account", "every page waits for the new password");
    b.type_in("#current_password", &password).await;
    b.type_in("#new_password", "my own strong password 1").await;
    b.type_in("#confirm_password", "my own strong password 1").await;
    b.press("Change password").await;
    b.css("#password-changed").await;
    b.go("/groups").await;
    assert!(b.text("h1").await.contains("Client Groups"));
    assert!(b.page_text().await.contains("No client groups"));
    b.press("Sign out").await;
    b.css("#password").await;
    b.go("/groups").await;
    assert_eq!(b.path().await, "/login");
    b.close().await;
    drop(serve);
}

impl Server {
    async fn client_with_ref(&self, name: &str, reference: &str) -> ClientId {
        let input = ClientInput {
            name: Some(name.into()),
            external_ref: Some(reference.into()),
            ..ClientInput::default()
        };
        self.app
            .create_client(self.admin.admin().unwrap(), input)
            .await
            .unwrap()
            .id
    }

    /// A memberships import waiting for a worker (these tests run none unless they say so).
    async fn pending_import(&self, csv: &str) -> i64 {
        use clientele_app::bulk::Format;
        use clientele_app::process_requests::Mode;
        let received = self
            .app
            .receive_import(
                self.admin.admin().unwrap(),
                Format::Memberships,
                Mode::Apply,
                false,
                std::io::Cursor::new(csv.as_bytes().to_vec()),
            )
            .await
            .unwrap();
        received.id.0
    }
}

/// Seed 000's upload: from Client Groups to "Upload Client Groups", the CSV guide, a memberships
/// file with one bad row validated, each row's result, "Apply this file", and the request in the
/// Process requests table, completed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_000_upload_client_groups_validate_then_apply() {
    let s = Server::start(false).await;
    let north = s.client_with_ref("North Bakery Ltd", "CRM-N").await;
    let south = s.client_with_ref("South Bakery Ltd", "CRM-S").await;
    s.group("Bakeries", GroupKind::Clients, vec![]).await;
    let files = tempfile::tempdir().unwrap();
    let csv = files.path().join("bakeries.csv");
    std::fs::write(
        &csv,
        // The last row also creates its group (seed 000: one file, a group and its clients).
        "group,client_ref,new_group_kind\r\nBakeries,CRM-N,\r\nBakeries,CRM-S,\r\nBakeries,CRM-MISSING,\r\nSpring campaign,CRM-S,clients\r\n",
    )
    .unwrap();

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    // "On the Client Groups page, in the upper right click the Upload Client Groups icon."
    b.css("a[aria-label='Download Client Groups'][download]").await;
    b.follow("a[aria-label='Upload Client Groups']").await;
    assert_eq!(b.text("h1").await, "Upload / Download Client Groups");
    // "Click Download CSV Guide": the link is there, and what it downloads is the guide.
    let guide_link = b
        .css("tr[data-format=memberships] a[href='/transfers/memberships/guide.csv']")
        .await;
    assert_eq!(guide_link.text().await.unwrap(), "Download CSV guide");
    let guide = b
        .client
        .execute(
            "return fetch('/transfers/memberships/guide.csv').then(r => r.text());",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        guide
            .as_str()
            .unwrap()
            .contains("group_id,group,client_id,client_ref,child_group"),
        "{guide}"
    );
    b.shot("000-upload-form").await;

    // "Click Choose File ... Click Upload": a dry run first.
    b.select("#format", "Memberships").await;
    b.click("input[name=mode][value=validate]").await;
    b.css("#file")
        .await
        .send_keys(&csv.display().to_string())
        .await
        .unwrap();
    b.press("Upload").await;
    b.css("#report").await;
    assert!(b.path().await.starts_with("/process-requests/"));
    let dry_run = b.path().await;
    assert_eq!(
        b.text("#summary").await,
        "1 group would be created, 3 memberships would be added, 1 row would be refused."
    );
    assert!(
        b.text("#dry-run")
            .await
            .contains("nothing was changed. 3 rows would be accepted, 1 rejected"),
        "{}",
        b.page_text().await
    );
    let rejected = b.text("#report tr.rejected").await;
    assert!(
        rejected.contains("4") && rejected.contains("there is no client with the external reference \"CRM-MISSING\""),
        "row, line and reason: {rejected}"
    );
    b.shot("000-upload-validated").await;
    assert!(
        s.app.groups_of_client(&s.admin, north).await.unwrap().is_empty(),
        "the dry run changed nothing"
    );

    // Validate, then apply the very same file without choosing it again.
    b.press("Apply this file").await;
    b.css("#report").await;
    assert_ne!(b.path().await, dry_run);
    assert_eq!(b.text("#status").await, "Completed");
    let report = b.text("#report").await;
    assert!(report.contains("Added") && report.contains("Rejected"), "{report}");
    assert!(report.contains("created the group \"Spring campaign\""), "{report}");
    assert_eq!(
        b.text("#summary").await,
        "1 group created, 3 memberships added, 1 row refused."
    );
    b.shot("000-upload-applied").await;
    let mut groups = Vec::new();
    for client in [north, south] {
        let mut names: Vec<String> = s
            .app
            .groups_of_client(&s.admin, client)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        names.sort();
        groups.push(names);
    }
    assert_eq!(groups, [vec!["Bakeries"], vec!["Bakeries", "Spring campaign"]]);

    // The Process requests table lists both, completed.
    b.follow("nav a[href='/process-requests']").await;
    b.css("#requests-table").await;
    let applied = b.path().await;
    assert_eq!(applied, "/process-requests");
    let rows = b.text("#requests-table tbody").await;
    assert!(
        rows.contains("Import memberships") && rows.contains("dry run"),
        "{rows}"
    );
    assert_eq!(
        b.client
            .find_all(Locator::Css("#requests-table tr[data-status=completed]"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(rows.contains("4/4, 1 failed"), "{rows}");
    b.shot("004-process-requests").await;
    b.close().await;
}

/// Seed 004's process requests: the table with its filters, live progress while a request waits
/// and runs (the page updates without being reloaded), "Retry failed rows" after fixing the data,
/// and "Cancel".
async fn process_requests_story(postgres: bool) {
    let s = Server::start(postgres).await;
    s.client_with_ref("Alpha Trading", "A-1").await;
    s.group("VIP", GroupKind::Clients, vec![]).await;
    let waiting = s.pending_import("group,client_ref\r\nVIP,A-1\r\nVIP,B-2\r\n").await;

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.follow("nav a[href='/process-requests']").await;
    let row = b.text(&format!("tr[data-request='{waiting}']")).await;
    assert!(
        row.contains("Pending") && row.contains("0/2") && row.contains("Import memberships"),
        "{row}"
    );
    b.follow(&format!("a[href='/process-requests/{waiting}']")).await;
    assert_eq!(b.text("#status").await, "Pending");
    b.css("#actions button.danger").await;
    b.shot("004-request-pending").await;

    // A worker takes it; the open page follows by itself, keeping the keyboard focus in place.
    b.mark().await;
    b.client
        .execute("document.querySelector(\"a[href$='/report.csv']\").focus();", vec![])
        .await
        .unwrap();
    assert!(s.app.work_once("browser-test-worker", 30_000).await.unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    // Read through a script: the element is swapped under us, so a found element may go stale.
    let status = || async {
        b.client
            .execute(
                "var e = document.getElementById('status'); return e ? e.textContent : '';",
                vec![],
            )
            .await
            .unwrap()
    };
    while status().await != json!("Completed") {
        assert!(Instant::now() < deadline, "the page never showed the request completed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let reloaded = b
        .client
        .execute("return window.__clienteleOld === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(reloaded, json!(false), "updated in place, not reloaded");
    let focused = b
        .client
        .execute("return document.activeElement.getAttribute('href');", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!(format!("/process-requests/{waiting}/report.csv")));
    assert!(
        b.text("#progress")
            .await
            .contains("2 of 2 rows processed (100%), 1 rejected")
    );
    assert!(
        b.client.find(Locator::Css("[data-live]")).await.is_err(),
        "polling stopped"
    );
    let report = b.text("#report").await;
    assert!(
        report.contains("there is no client with the external reference \"B-2\""),
        "{report}"
    );

    // Fix what the rejected row needed, then retry it alone.
    s.client_with_ref("Beta Exports", "B-2").await;
    b.press("Retry failed rows").await;
    b.css("#report").await;
    assert!(
        b.text(".flash")
            .await
            .contains(&format!("rejected rows of request {waiting}"))
    );
    assert_eq!(b.text("#status").await, "Completed");
    assert!(b.text("#report").await.contains("Added"));
    assert!(!b.text("#report").await.contains("Rejected"));

    // Another one is cancelled before any worker gets to it.
    let doomed = s.pending_import("group,client_ref\r\nVIP,A-1\r\n").await;
    b.go(&format!("/process-requests/{doomed}")).await;
    b.press("Cancel").await;
    assert_eq!(b.text("#status").await, "Cancelled");
    assert!(b.text(".flash").await.contains("has been cancelled"));

    // The table filtered by status.
    b.go("/process-requests").await;
    b.select("#status", "Cancelled").await;
    b.press("Filter").await;
    let rows = b
        .client
        .find_all(Locator::Css("#requests-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].attr("data-request").await.unwrap(), Some(doomed.to_string()));
    b.shot("004-process-requests-filtered").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_process_requests_live_progress_retry_and_cancel_on_sqlite() {
    process_requests_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_process_requests_live_progress_retry_and_cancel_on_postgres() {
    process_requests_story(true).await;
}

/// A new client from the Clients list, an error shown by its field with the input kept, and
/// "Edit" on the profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_are_created_and_edited_in_the_browser() {
    let s = Server::start(false).await;
    s.client_with_ref("Existing Ltd", "CRM-1").await;
    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.follow("nav a[href='/clients']").await;
    b.press("New client").await;
    b.type_in("#name", "Harbour Shipping").await;
    b.type_in("#external_ref", "CRM-1").await;
    b.select("#business_unit_id", "Main office").await;
    b.shot("client-new").await;
    b.press("Create client").await;
    assert!(
        b.text("#external_ref-error")
            .await
            .contains("already has the external reference CRM-1")
    );
    assert_eq!(
        b.css("#name").await.prop("value").await.unwrap().as_deref(),
        Some("Harbour Shipping"),
        "typed text survives"
    );
    b.type_in("#external_ref", "CRM-2").await;
    b.press("Create client").await;
    assert_eq!(b.text("h1").await, "Harbour Shipping");
    assert!(b.text(".flash").await.contains("has been created"));
    b.follow("a[aria-label='Edit Harbour Shipping']").await;
    b.select("#status", "Inactive").await;
    b.press("Save").await;
    assert_eq!(b.text(".flash").await, "Saved.");
    assert!(b.text(".facts").await.contains("inactive"));
    b.close().await;
}

impl Browser {
    /// Signs in from the sign-in page a protected `path` leads to, and lands there.
    async fn sign_in_to(&self, path: &str, email: &str, password: &str) {
        self.go(path).await;
        self.type_in("#email", email).await;
        self.type_in("#password", password).await;
        self.press("Sign in").await;
        self.css("h1").await;
        assert_eq!(self.path().await, path, "{}", self.page_text().await);
    }

    /// Whether an `<img>` loaded and decoded its image.
    async fn image_loaded(&self, selector: &str) -> bool {
        let script =
            format!("var i = document.querySelector({selector:?}); return !!i && i.complete && i.naturalWidth > 0;");
        self.client.execute(&script, vec![]).await.unwrap() == json!(true)
    }
}

/// Seed 001 end to end: "Create client groups to segment clients ... an annual report client, a
/// one-time service client", then "Customer segmentation is helpful for you in the report ...
/// Choose a client group filter", then "save it at the disc icon ... for the entire office".
/// An account manager logs time from a client's profile, reports on one segment (table, chart,
/// CSV link), saves the report for the office; an admin finds it and sees the same figures.
async fn time_and_reports_story(postgres: bool) {
    use clientele_app::reports::TimeEntryFields;
    use clientele_domain::time_entry::Day;

    let s = Server::start(postgres).await;
    let bakery = s.client("Bakery Ltd", ClientStatus::Active).await;
    let florist = s.client("Florist & Co", ClientStatus::Active).await;
    let garage = s.client("Garage Services", ClientStatus::Active).await;
    let annual = s
        .group(
            "Annual report clients",
            GroupKind::Clients,
            vec![MemberRef::Client(bakery), MemberRef::Client(florist)],
        )
        .await;
    s.group("One-time service", GroupKind::Clients, vec![MemberRef::Client(garage)])
        .await;
    let password = "a long enough password";
    s.staff_on(
        ("ann@firm.example", "Ann Accountant", password),
        annual,
        clientele_access::AccessRole::Editor,
    )
    .await;
    // Time the admin logged already (today, so that this month's report counts it).
    let today = Day::of_millis(clientele_domain::now_millis()).to_string();
    for (client, duration) in [(florist, "60"), (garage, "2:00")] {
        let entry = TimeEntryFields {
            client_id: client,
            staff_id: None,
            date: today.clone(),
            duration: duration.into(),
            billable: true,
            service: Some("Advice".into()),
            note: None,
        };
        s.app.create_time_entry(&s.admin, &entry).await.unwrap();
    }

    // Ann opens one of her clients and logs an hour and a half through the form.
    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in_to("/my-group-clients", "ann@firm.example", password).await;
    b.follow(&format!("#my-clients a[href='/clients/{bakery}']")).await;
    assert_eq!(b.text("h1").await, "Bakery Ltd");
    b.css("#log-time").await;
    assert_eq!(
        b.css("#time-date").await.prop("value").await.unwrap().as_deref(),
        Some(today.as_str()),
        "the date defaults to today"
    );
    assert!(
        b.css("#time-billable").await.is_selected().await.unwrap(),
        "billable by default"
    );
    b.type_in("#time-duration", "ninety").await;
    b.type_in("#time-service", "Annual report").await;
    b.type_in("#time-note", "Year-end <accounts>").await;
    b.press("Log time").await;
    assert!(
        b.text("#time-duration-error").await.contains("1:30"),
        "the refusal sits by the duration"
    );
    assert_eq!(
        b.css("#time-service").await.prop("value").await.unwrap().as_deref(),
        Some("Annual report"),
        "typed text survives"
    );
    b.shot("001-log-time-refused").await;
    b.type_in("#time-duration", "1:30").await;
    b.press("Log time").await;
    assert_eq!(b.text("#time .flash").await, "Time logged.");
    let row = b.text("#time-entries tbody tr").await;
    assert!(
        row.contains(&today)
            && row.contains("Ann Accountant")
            && row.contains("1:30")
            && row.contains("Annual report")
            && row.contains("Year-end <accounts>"),
        "{row}"
    );
    b.shot("001-client-time").await;
    // My time lists it, with a link back to the client.
    b.follow("nav a[href='/time']").await;
    assert_eq!(b.text("#total-duration").await, "1:30");
    b.css(&format!("#my-time a[href='/clients/{bakery}']")).await;
    b.shot("001-my-time").await;

    // Reports: filter by the client group.
    b.follow("nav a[href='/reports']").await;
    b.css("#report-filters").await;
    b.click(&format!("#groups option[value='{annual}']")).await;
    b.select("#by", "Clients").await;
    b.press("Show report").await;
    let total = b.text("#report-total").await;
    // Bakery 1:30 (Ann's) and Florist 1:00 (the admin's); the garage is not in the segment.
    assert!(total.starts_with("2:30 in 2 entries for 2 clients"), "{total}");
    let rows = b.text("#report-rows tbody").await;
    assert!(
        rows.contains("Bakery Ltd") && rows.contains("1:30") && rows.contains("Florist & Co"),
        "{rows}"
    );
    assert!(!rows.contains("Garage"), "{rows}");
    assert!(b.image_loaded("#report-chart").await, "the chart image loads");
    let chart_src = b.css("#report-chart").await.attr("src").await.unwrap().unwrap();
    assert!(chart_src.contains(&format!("groups={annual}")), "{chart_src}");
    let csv = b.css("#report-csv[download]").await;
    let href = csv.attr("href").await.unwrap().unwrap();
    assert!(
        href.starts_with("/reports/time.csv?") && href.contains(&format!("groups={annual}")),
        "{href}"
    );
    b.shot("001-report-by-group").await;

    // The disc icon: save it for the entire office.
    b.type_in("#save-name", "Annual report clients this month").await;
    b.click("input[name=visibility][value=organization]").await;
    b.press("Save report").await;
    assert_eq!(b.text("h1").await, "Annual report clients this month");
    assert!(b.text("#opened").await.contains("for the entire office"));
    assert_eq!(b.text("#report-total").await, total, "the saved filters apply");
    b.close().await;

    // An admin signs in, finds it under Saved reports and opens it: the same figures.
    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.follow("nav a[href='/reports']").await;
    let saved = b.text("#saved-reports").await;
    assert!(
        saved.contains("Annual report clients this month") && saved.contains("entire office"),
        "{saved}"
    );
    b.press("Annual report clients this month").await;
    assert_eq!(b.text("h1").await, "Annual report clients this month");
    assert_eq!(b.text("#report-total").await, total);
    assert_eq!(b.text("#report-rows tbody").await, rows);
    assert!(b.image_loaded("#report-chart").await);
    b.css("#report-csv[download]").await;
    b.shot("001-saved-report-opened").await;
    // Without the segment filter the admin sees all of the office's time.
    b.go("/reports").await;
    assert!(
        b.text("#report-total").await.starts_with("4:30 in 3 entries"),
        "{}",
        b.text("#report-total").await
    );

    // An admin may correct anyone's entry, and delete it after a confirmation.
    b.go(&format!("/clients/{bakery}")).await;
    b.follow("#time-entries a[aria-label^='Edit the entry']").await;
    assert_eq!(
        b.css("#duration").await.prop("value").await.unwrap().as_deref(),
        Some("1:30")
    );
    b.type_in("#duration", "2h").await;
    b.shot("001-time-edit").await;
    b.press("Save").await;
    assert_eq!(b.text("#time .flash").await, "The time entry has been saved.");
    assert!(b.text("#time-entries").await.contains("2:00"));
    b.follow("#time-entries a[aria-label^='Delete the entry']").await;
    assert!(b.text("#entry-summary").await.contains("2:00 on"));
    b.shot("001-time-delete").await;
    b.press("Delete entry").await;
    assert_eq!(b.text("#time .flash").await, "The time entry has been deleted.");
    assert!(b.text("#time").await.contains("No time logged yet."));
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_log_time_report_by_group_and_save_for_the_office_on_sqlite() {
    time_and_reports_story(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_001_log_time_report_by_group_and_save_for_the_office_on_postgres() {
    time_and_reports_story(true).await;
}

/// Signs in through the form as staff (who land on My group clients).
async fn sign_in_as_staff(b: &Browser, email: &str, password: &str) {
    b.go("/login").await;
    b.type_in("#email", email).await;
    b.type_in("#password", password).await;
    b.press("Sign in").await;
    assert_eq!(b.path().await, "/my-group-clients", "{}", b.page_text().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_change_their_password_and_an_admin_issues_a_reset_that_works_once() {
    let s = Server::start(false).await;
    s.app
        .create_staff_cli(
            "ann@firm.example",
            "Ann Accountant",
            StaffRole::Staff,
            Some("first secret phrase"),
        )
        .await
        .unwrap();
    let laptop = Browser::open(&s.base, 1280, 900).await;
    let phone = Browser::open(&s.base, 390, 800).await;
    sign_in_as_staff(&laptop, "ann@firm.example", "first secret phrase").await;
    sign_in_as_staff(&phone, "ann@firm.example", "first secret phrase").await;

    // On the laptop Ann changes her password: the phone's session ends, the laptop's stays.
    laptop.go("/account").await;
    laptop.assert_labelled().await;
    laptop.type_in("#current_password", "first secret phrase").await;
    laptop.type_in("#new_password", "password").await;
    laptop.type_in("#confirm_password", "password").await;
    laptop.press("Change password").await;
    assert!(laptop.text("#new_password-error").await.contains("12 characters"));
    laptop.type_in("#current_password", "first secret phrase").await;
    laptop.type_in("#new_password", "second secret phrase").await;
    laptop.type_in("#confirm_password", "second secret phrase").await;
    laptop.press("Change password").await;
    laptop.css("#password-changed").await;
    laptop.go("/my-group-clients").await;
    assert_eq!(laptop.path().await, "/my-group-clients");
    phone.go("/my-group-clients").await;
    assert_eq!(phone.path().await, "/login", "the other session was signed out");

    // She forgets it; an admin issues a reset link from Settings.
    phone.sign_in(&s.email, &s.password).await;
    phone.go("/settings").await;
    phone
        .follow("button[aria-label='Issue a password reset link for Ann Accountant']")
        .await;
    let link = phone.text("#reset-link").await;
    assert!(link.starts_with("/reset-password?code="), "{link}");
    phone.press("Sign out").await;

    // With the link she sets a new password; every session of hers ends, the link works once.
    phone.go(&link).await;
    phone.type_in("#new_password", "third secret phrase").await;
    phone.type_in("#confirm_password", "third secret phrase").await;
    phone.press("Set password").await;
    phone.css("#reset-done").await;
    laptop.go("/my-group-clients").await;
    assert_eq!(laptop.path().await, "/login", "the reset ended every session");
    phone.go(&link).await;
    phone.type_in("#new_password", "fourth secret phrase").await;
    phone.type_in("#confirm_password", "fourth secret phrase").await;
    phone.press("Set password").await;
    assert!(phone.text("#code-error").await.contains("not valid"));
    sign_in_as_staff(&phone, "ann@firm.example", "third secret phrase").await;
    laptop.close().await;
    phone.close().await;
}

/// Whether the page is wider than the window (a sideways scroll at phone width).
async fn scrolls_sideways(b: &Browser) -> bool {
    let widths = b
        .client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    widths[0].as_i64().unwrap() > widths[1].as_i64().unwrap()
}

/// Issue 18: staff sign in to a page they may see; what they may not do is neither offered nor
/// a dead end; errors keep the navigation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_land_on_their_clients_see_only_what_they_may_do_and_errors_keep_the_navigation() {
    let s = Server::start(false).await;
    let mine = s.client("Mine Bakery", ClientStatus::Active).await;
    let group = s
        .group("Bakeries", GroupKind::Clients, vec![MemberRef::Client(mine)])
        .await;
    s.group("Elsewhere", GroupKind::Clients, vec![]).await;
    s.staff_on(
        ("eddie@firm.example", "Eddie Editor", "editor secret phrase"),
        group,
        clientele_access::AccessRole::Editor,
    )
    .await;

    let b = Browser::open(&s.base, 390, 844).await;
    // A link an admin shared: staff signing in through it land on their own start page.
    b.go("/groups/new").await;
    b.type_in("#email", "eddie@firm.example").await;
    b.type_in("#password", "editor secret phrase").await;
    b.press("Sign in").await;
    assert_eq!(b.path().await, "/my-group-clients");
    assert!(b.text("#my-clients").await.contains("Mine Bakery"));
    assert!(b.text("#my-clients").await.contains("Bakeries"), "the group badge");
    assert!(!scrolls_sideways(&b).await);
    b.shot("018-staff-my-clients-phone").await;

    // Their groups, and no admin action on them.
    b.follow("nav a[href='/groups']").await;
    let groups = b.text("#groups").await;
    assert!(groups.contains("Bakeries") && !groups.contains("Elsewhere"), "{groups}");
    assert!(b.client.find(Locator::Css("a[href='/groups/new']")).await.is_err());
    b.follow(&format!("#groups a[href='/groups/{group}']")).await;
    assert!(b.text("#members").await.contains("Mine Bakery"));
    let offered = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('main form[method=post] button, main input[name=ids], main a.icon-button, main a[href$=\\'/edit\\']')).map(e => e.outerHTML);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(offered, json!([]), "an editor is offered no member or group action");

    // Refused and unknown pages: a page in words, with the navigation to go on.
    b.go("/groups/new").await;
    assert!(b.text("main").await.contains("Only admins"));
    b.follow("nav a[href='/my-group-clients']").await;
    b.go("/no/such/page").await;
    assert!(b.text("h1").await.contains("not found") || b.text("h1").await.contains("Not found"));
    b.css("nav a[href='/groups']").await;
    b.close().await;
}

/// Issue 18: an admin selects every client matching a filter, across pages, and adds them all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_clients_matching_a_filter_are_added_across_three_pages() {
    let s = Server::start(true).await;
    for n in 1..=60 {
        s.client(&format!("Bulk client {n:02}"), ClientStatus::Active).await;
    }
    s.client("Other client", ClientStatus::Active).await;
    let target = s.group("Target", GroupKind::Clients, vec![]).await;

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.go("/clients?q=Bulk&per_page=25").await;
    assert_eq!(b.text("#total").await, "60 clients");
    // Sorting by name the other way round, then back.
    b.follow("th a.sort[href*='sort=-name']").await;
    assert!(b.text("#clients tbody tr").await.contains("Bulk client 60"));
    b.follow("a[rel=next]").await;
    b.follow("a[rel=prev]").await;
    assert!(b.text("#clients tbody tr").await.contains("Bulk client 60"));
    b.click("input[data-select-matching]").await;
    b.select("#group_id", "Target").await;
    b.press("Add to group…").await;
    assert!(b.text("#touches").await.contains("60"), "{}", b.text("#touches").await);
    b.type_in("#confirm", "CONFIRM").await;
    b.press("Save changes").await;
    // Large changes run as a process request.
    while s.app.work_once("browser-test-worker", 30_000).await.unwrap() {}
    let members = s.app.group(&s.admin, target).await.unwrap().group.member_count;
    assert_eq!(members, 60, "every match, not just the page shown");
    b.close().await;
}

/// Issue 18: a long name does not push a phone-width page sideways; a refused form puts the
/// focus on its first field in error, with every problem listed above it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_names_fit_a_phone_and_a_refused_form_focuses_its_first_error() {
    let s = Server::start(false).await;
    let long = "Northwest regional wholesale and retail bakeries, patisseries and confectioners ".repeat(3);
    let long = long.trim().chars().take(200).collect::<String>();
    let c = s.client(&long, ClientStatus::Active).await;
    let g = s.group(&long, GroupKind::Clients, vec![MemberRef::Client(c)]).await;
    let b = Browser::open(&s.base, 390, 844).await;
    b.sign_in(&s.email, &s.password).await;
    for page in [
        "/groups".to_string(),
        format!("/groups/{g}"),
        "/clients".into(),
        format!("/clients/{c}"),
    ] {
        b.go(&page).await;
        assert!(!scrolls_sideways(&b).await, "{page} scrolls sideways at 390 px");
    }
    b.shot("018-long-name-phone").await;

    b.go("/groups/new").await;
    b.press("Save").await;
    let focused = b
        .client
        .execute(
            "var first = document.querySelector('main [aria-invalid=true]'); return [first && first.id, document.activeElement.id];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(focused[0], focused[1], "the first field in error has the focus");
    assert!(!focused[0].is_null());
    assert!(b.text(".error-summary").await.contains("Enter a name"));
    b.close().await;
}

/// Issue 18, seeds 001, 002 and 004: an admin gives several employees access to a group after an
/// access summary, sees a staff member's page, chooses a new client's groups on its own form,
/// finds only available clients under exclusive membership, and lifts a group's protection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn employees_are_assigned_after_an_access_summary_and_groups_are_chosen_on_the_client_form() {
    let s = Server::start(true).await;
    let a = s.client("Alpha Bakery", ClientStatus::Active).await;
    let b2 = s.client("Beta Bakery", ClientStatus::Active).await;
    let bakeries = s
        .group(
            "Bakeries",
            GroupKind::Clients,
            vec![MemberRef::Client(a), MemberRef::Client(b2)],
        )
        .await;
    let mut staff = Vec::new();
    for (email, name) in [
        ("ann@firm.example", "Ann Agent"),
        ("ben@firm.example", "Ben Bookkeeper"),
    ] {
        let person = s
            .app
            .create_staff_cli(email, name, StaffRole::Staff, Some("staff secret phrase"))
            .await
            .unwrap();
        staff.push(person.id);
    }

    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.follow("nav a[href='/staff']").await;
    b.click("input[data-select-all=ids]").await;
    b.select("#group_id", "Bakeries").await;
    b.select("#role", "Editor: also edits those clients and logs time")
        .await;
    b.press("Next: review access").await;
    let summary = b.text("#access-summary").await;
    assert!(
        summary.contains("Ann Agent") && summary.contains("Ben Bookkeeper"),
        "{summary}"
    );
    assert_eq!(
        summary.matches("Not assigned").count(),
        2,
        "neither is in the group yet: {summary}"
    );
    let gained = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('#access-summary td.num')).map(td => td.textContent.trim());",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(gained, json!(["2", "2"]), "each gains the group's two clients");
    b.shot("018-access-summary").await;
    b.press("Save changes").await;
    assert!(b.text(".flash").await.contains("Access saved for 2 employees"));
    let assigned = s.app.group_staff(&s.admin, bakeries).await.unwrap();
    assert_eq!(assigned.len(), 2);
    assert!(assigned.iter().all(|x| x.role == clientele_access::AccessRole::Editor));
    // A staff member's page: their groups, and the clients they see through them.
    b.follow(&format!("#staff-list a[href='/staff/{}']", staff[0])).await;
    let person = b.text("main").await;
    assert!(person.contains("Bakeries") && person.contains("Editor"), "{person}");
    assert!(b.text("#staff-clients").await.contains("Beta Bakery"));
    assert_eq!(b.text("#total").await, "2 clients");

    // A new client, put in a group from its own form.
    b.go("/clients/new").await;
    b.type_in("#name", "Gamma Bakery").await;
    b.click("#groups input[name=groups]").await;
    b.press("Create client").await;
    assert!(b.text("main").await.contains("Bakeries"), "the profile shows the group");
    let gamma_groups = s.app.group(&s.admin, bakeries).await.unwrap().group.member_count;
    assert_eq!(gamma_groups, 3);

    // Under one group per client, a group's candidates are only clients in no group.
    let mut policies = s.app.organization(&s.admin).await.unwrap().policies;
    policies.membership_mode = clientele_domain::policy::MembershipMode::Exclusive;
    s.app
        .update_policies(s.admin.admin().unwrap(), policies, None)
        .await
        .unwrap();
    s.client("Delta Free", ClientStatus::Active).await;
    let other = s.group("Florists", GroupKind::Clients, vec![]).await;
    b.go(&format!("/groups/{other}?add=1")).await;
    let candidates = b.text("#add-form").await;
    assert!(
        candidates.contains("Delta Free") && !candidates.contains("Alpha Bakery"),
        "{candidates}"
    );

    // A protected group says why it cannot be deleted, and the admin lifts the protection there.
    let new = NewGroup {
        name: "Head office".into(),
        kind: GroupKind::Clients,
        business_unit_id: s.unit,
        description: None,
        crm_id: None,
        protected: true,
        members: vec![],
    };
    let kept = s
        .app
        .create_group(s.admin.admin().unwrap(), new)
        .await
        .unwrap()
        .group
        .id;
    b.go(&format!("/groups/{kept}")).await;
    assert!(b.text("#why-not-deletable").await.contains("protected"));
    b.press("Lift the protection").await;
    assert!(b.client.find(Locator::Id("why-not-deletable")).await.is_err());
    b.follow(&format!("a[href='/groups/{kept}/delete']")).await;
    b.css("#confirm").await;
    b.close().await;
}

/// Seed 004's program accounts on the client's page: an admin adds one (a wrong number is refused
/// by its field and the form keeps what was typed), closes it, and removes it; a reader of the
/// client's group sees the accounts without any control to change them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_004_program_accounts_on_the_client_page() {
    let s = Server::start(false).await;
    let client = s.client("Maple Imports Inc.", ClientStatus::Active).await;
    let group = s
        .group("Ontario importers", GroupKind::Clients, vec![MemberRef::Client(client)])
        .await;
    let b = Browser::open(&s.base, 1280, 900).await;
    b.sign_in(&s.email, &s.password).await;
    b.go(&format!("/clients/{client}")).await;
    assert_eq!(b.text("#accounts .empty").await, "No program accounts.");

    b.type_in("#account-number", "123 <RM> 0001").await;
    b.type_in("#account-program", "RM import-export").await;
    b.press("Add program account").await;
    b.css("#account-number[aria-invalid=true]").await;
    assert!(
        b.text("#account-number-error").await.contains("letters, digits"),
        "{}",
        b.page_text().await
    );
    assert_eq!(
        b.css("#account-program").await.prop("value").await.unwrap().as_deref(),
        Some("RM import-export"),
        "the form keeps what was typed"
    );
    let number = b.css("#account-number").await;
    number.clear().await.unwrap();
    number.send_keys("123456789 RM 0001").await.unwrap();
    b.press("Add program account").await;
    b.css("#program-accounts").await;
    assert_eq!(b.text("#accounts .flash").await, "The program account has been added.");
    let row = b.text("#program-accounts tbody tr").await;
    assert!(
        row.contains("123456789 RM 0001") && row.contains("RM import-export"),
        "{row}"
    );
    b.assert_labelled().await;
    b.shot("004-program-accounts").await;

    b.select("#program-accounts select[name=status]", "closed").await;
    b.press("Save").await;
    assert_eq!(b.text("#accounts .flash").await, "The program account has been saved.");
    let account = s.app.program_accounts(&s.admin, client).await.unwrap().remove(0);
    assert_eq!(account.status.as_str(), "closed");

    // A reader of the client's group sees the account and nothing to change it with.
    s.staff_on(
        ("rita@firm.example", "Rita Reader", "reader secret phrase"),
        group,
        clientele_access::AccessRole::Reader,
    )
    .await;
    let staff = Browser::open(&s.base, 1280, 900).await;
    sign_in_as_staff(&staff, "rita@firm.example", "reader secret phrase").await;
    staff.go(&format!("/clients/{client}")).await;
    assert!(staff.text("#program-accounts").await.contains("closed"));
    let source = staff.page_source().await;
    assert!(
        !source.contains("id=\"add-account\"") && !source.contains("name=\"remove\""),
        "a reader cannot change accounts"
    );
    staff.close().await;

    b.mark().await;
    b.click("#program-accounts button[name=remove]").await;
    b.wait_for_new_page().await;
    assert_eq!(
        b.text("#accounts .flash").await,
        "The program account has been removed."
    );
    assert!(s.app.program_accounts(&s.admin, client).await.unwrap().is_empty());
    b.close().await;
}
