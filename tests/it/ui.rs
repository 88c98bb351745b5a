//! The real window, driven through egui_kittest against real encrypted files.

use crate::support::*;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::path::PathBuf;
use tether::store::Store;
use tether::ui::{Session, TetherApp};

fn harness(path: PathBuf, user: &str) -> Harness<'static, TetherApp> {
    let user = user.to_owned();
    Harness::builder()
        .with_max_steps(MAX_STEPS)
        .with_size(egui::vec2(1100.0, 720.0))
        .build_eframe(move |cc| TetherApp::new(cc, Some(path), Some(user)))
}

/// Frames `Harness::run` may draw before the window settles: a spinner
/// repaints every frame while a background job runs, and on a loaded
/// machine a job can outlast kittest's default of four.
const MAX_STEPS: u64 = 400;

/// How long one wait for a background job's next message lasts before the
/// test's loop draws another frame and looks again.
const WAIT: std::time::Duration = std::time::Duration::from_millis(200);

/// Blocks on a screen's background job (no sleeping) until it has
/// something for the next frame.
fn wait_ready(h: &mut Harness<'_, TetherApp>, wait: impl FnOnce(&mut tether::ui::Workspace)) {
    if let Some(ws) = h.state_mut().workspace_mut() {
        wait(ws);
    }
}

fn type_into(h: &mut Harness<'_, TetherApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.get_by_label(label).type_text(text);
    h.run();
}

/// Types into the text field labelled `label` (other widgets may share the label).
fn type_field(h: &mut Harness<'_, TetherApp>, label: &str, text: &str) {
    let role = if h
        .query_by_role_and_label(egui::accesskit::Role::TextInput, label)
        .is_some()
    {
        egui::accesskit::Role::TextInput
    } else {
        egui::accesskit::Role::PasswordInput
    };
    h.get_by_role_and_label(role, label).focus();
    h.run();
    h.get_by_role_and_label(role, label).type_text(text);
    h.run();
}

fn unlock(h: &mut Harness<'_, TetherApp>, password: &str) {
    type_into(h, "Password", password);
    h.get_by_label("Unlock").click();
    h.run();
}

#[test]
fn unlock_with_the_right_password_opens_the_database() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-1", Some("សុខា"));
    store.close().unwrap();
    let mut h = harness(db.path.clone(), "admin");
    assert!(!h.state().is_unlocked());
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
    h.get_by_label_contains("Admin (Admin)");
    // The login is in the audit log.
    let Session::Open(ws) = &h.state().session else {
        panic!("not open")
    };
    let log = ws.store.audit_log(5).unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == tether::domain::AuditAction::Login),
        "{log:?}"
    );
}

#[test]
fn a_wrong_password_shows_a_plain_message_and_stays_locked() {
    let (db, store) = fresh();
    store.close().unwrap();
    let mut h = harness(db.path.clone(), "admin");
    unlock(&mut h, "not my password");
    assert!(!h.state().is_unlocked());
    h.get_by_label("wrong username or password");
    // And the right one still works afterwards.
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
}

#[test]
fn lock_closes_the_database_and_keeps_no_client_data() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-77", Some("Vibol"));
    store.close().unwrap();
    let mut h = harness(db.path.clone(), "admin");
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
    h.get_by_label("Lock (Ctrl+L)").click();
    h.run();
    assert!(!h.state().is_unlocked());
    let Session::Locked(screen) = &h.state().session else {
        panic!("still open")
    };
    assert!(screen.password.is_empty(), "no password kept after use");
    assert!(
        h.query_by_label_contains("clients").is_none(),
        "no counts on screen after lock"
    );
    // Ctrl+L locks too.
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::L);
    h.run();
    assert!(!h.state().is_unlocked());
    // The lock is audited.
    let store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let log = store.audit_log(10).unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == tether::domain::AuditAction::Lock)
    );
}

#[test]
fn first_run_creates_the_database_and_shows_the_recovery_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let mut h = harness(path.clone(), "coordinator");
    type_into(&mut h, "Your name", "Chan Sophal");
    type_into(&mut h, "Password", PASSWORD);
    type_into(&mut h, "Password again", PASSWORD);
    h.get_by_label("Create database").click();
    h.run();
    assert!(path.exists());
    let Session::Locked(screen) = &h.state().session else {
        panic!("should ask to log in")
    };
    let key = screen.recovery_key.clone().expect("recovery key shown");
    h.get_by_label(&key);
    // The key really opens the database.
    let store = Store::open_with_recovery_key(&path, &key, "coordinator").unwrap();
    assert_eq!(store.user().display_name, "Chan Sophal");
    drop(store);
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
}

/// A new field laptop joins from the first-run screen with the office's
/// sync passphrase and folder, then receives the office's records once it
/// has enrolled the office laptop (checked by its key).
#[test]
fn a_new_laptop_joins_its_organisation_from_the_first_run_screen() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("usb stick");
    std::fs::create_dir(&folder).unwrap();
    let passphrase = "mekong river outreach 2026";
    let (_office_db, mut office) = fresh();
    client(&mut office, "PP-000301", None);
    let k = tether::sync::bundle::SyncKey::new(passphrase).unwrap();
    let quiet = |_: tether::store::SyncStep, _: usize, _: usize| {};
    office
        .sync_with_folder(&k, &folder, &mut { quiet })
        .unwrap();
    let path = dir.path().join("field laptop.db");
    let mut h = harness(path.clone(), "sokha");
    h.get_by_label("Join my organisation").click();
    h.run();
    type_into(&mut h, "Your name", "Ou Sokha");
    type_into(&mut h, "Password", PASSWORD);
    type_into(&mut h, "Password again", PASSWORD);
    // Not yet: the passphrase and the folder are missing.
    h.get_by_label("Create and join").click();
    h.run();
    assert!(!path.exists(), "nothing is made without them");
    h.get_by_label("Enter the sync passphrase your office gave you (12 characters or more).");
    type_into(&mut h, "Sync passphrase", passphrase);
    type_into(&mut h, "Sync folder", folder.to_str().unwrap());
    h.get_by_label("Create and join").click();
    h.run();
    assert!(path.exists(), "the laptop's own database is made");
    let Session::Locked(screen) = &h.state().session else {
        panic!("should ask to log in")
    };
    assert!(
        screen.recovery_key.is_some(),
        "the recovery key is shown once"
    );
    assert!(screen.error.is_none(), "{:?}", screen.error);
    h.get_by_label_contains("This laptop's database is ready.");
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
    drop(h);
    let mut field = Store::open(&path, "sokha", PASSWORD).unwrap();
    assert_eq!(field.user().display_name, "Ou Sokha");
    assert_eq!(
        field.sync_folder().unwrap().as_deref(),
        Some(folder.as_path())
    );
    let key = field.sync_key().unwrap().expect("the passphrase is kept");
    // Sync now: the office laptop is seen, not enrolled, and nothing merged.
    let _ = field.sync_with_folder(&key, &folder, &mut { quiet });
    let seen = field.sync_devices().unwrap();
    let office_laptop = seen
        .iter()
        .find(|d| d.device_id == office.device_id())
        .expect("the office laptop is listed");
    assert_eq!(office_laptop.trust, tether::store::Trust::Pending);
    assert!(
        field
            .search_clients("PP-000301", 5)
            .unwrap()
            .rows
            .is_empty()
    );
    // The office sees the new laptop in the folder and enrolls it (its key
    // checked): its next bundles are sealed for it too.
    office
        .sync_with_folder(&k, &folder, &mut { quiet })
        .unwrap();
    office
        .enroll_device(field.device_id(), None, tether::store::Trust::Member)
        .unwrap();
    office
        .set_device_scope(field.device_id(), &tether::store::Scope::All)
        .unwrap();
    office
        .sync_with_folder(&k, &folder, &mut { quiet })
        .unwrap();
    // Enrolled as office (its key checked), the next sync brings its records.
    field
        .enroll_device(office.device_id(), None, tether::store::Trust::Office)
        .unwrap();
    field
        .sync_with_folder(&key, &folder, &mut { quiet })
        .unwrap();
    assert_eq!(
        field.search_clients("PP-000301", 5).unwrap().rows.len(),
        1,
        "the office's client arrived"
    );
}

#[test]
fn mismatched_passwords_cannot_create() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let mut h = harness(path.clone(), "admin");
    type_into(&mut h, "Password", PASSWORD);
    type_into(&mut h, "Password again", "something else entirely");
    h.get_by_label("Create database").click();
    h.run();
    assert!(!path.exists());
    h.get_by_label("The two passwords differ.");
}

// ------------------------------------------------------------ workspace

fn unlocked(path: PathBuf, user: &str) -> Harness<'static, TetherApp> {
    let mut h = harness(path, user);
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked(), "unlock");
    h
}

/// A database with two clients and a police station without ART.
fn seeded() -> (TestDb, uuid::Uuid) {
    let (db, mut store) = fresh();
    let mut c = tether::domain::Client::with_code("PP-000201");
    c.nickname = Some("ដារ៉ា".into());
    c.province = Some("Phnom Penh".into());
    let c = store.create(c).unwrap();
    client(&mut store, "BTB-000007", Some("Vibol"));
    let mut l = tether::domain::Location::new(
        "Daun Penh police station",
        tether::domain::LocationKind::PoliceStation,
    );
    l.art = tether::domain::Availability::No;
    store.create(l).unwrap();
    store.close().unwrap();
    (db, c.id())
}

/// Waits for the client list's off-thread search to come back.
fn settle(h: &mut Harness<'_, TetherApp>) {
    let started = std::time::Instant::now();
    loop {
        h.run();
        let busy = h
            .state()
            .workspace()
            .is_some_and(|ws| ws.clients.searching());
        if !busy {
            break;
        }
        assert!(started.elapsed().as_secs() < 10, "search did not finish");
        wait_ready(h, |ws| ws.clients.wait_ready(WAIT));
    }
    h.run();
}

fn open_clients_and_search(h: &mut Harness<'_, TetherApp>, text: &str) {
    h.get_by_label("Clients").click();
    settle(h);
    h.get_by_label("Search by code, nickname or phone")
        .type_text(text);
    settle(h);
}

#[test]
fn search_a_client_by_code_and_open_the_profile() {
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "pp-0002");
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.clients.rids.len(), 1, "only PP-000201 matches");
    h.get_by_label("PP-000201").click();
    h.run();
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.screen, tether::ui::Screen::Profile);
    assert_eq!(ws.profile.as_ref().unwrap().client.id(), id);
    h.get_by_label("ដារ៉ា");
    // Searching by a substring of the Khmer nickname finds them too.
    h.get_by_label("Clients").click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Search by code, nickname or phone")
        .type_text("ារ៉ា");
    settle(&mut h);
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.clients.rids.len(), 1);
    assert!(h.query_all_by_label("PP-000201").count() >= 1);
}

#[test]
fn log_a_contact_by_keyboard_alone() {
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    // Clients screen: the search box has the cursor; type the code, Enter.
    h.get_by_label("Clients").click();
    h.run();
    h.get_by_label("Search by code, nickname or phone")
        .type_text("PP-000201");
    settle(&mut h);
    h.key_press(egui::Key::Enter);
    h.run();
    // The contact form is open on the profile with the cursor in the first count.
    assert!(h.get_by_label("Needles and syringes").is_focused());
    h.get_by_label("Needles and syringes").type_text("20");
    h.run();
    h.key_press(egui::Key::Tab);
    h.run();
    h.get_by_label("Condoms").type_text("5");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let ws = h.state().workspace().unwrap();
    let contacts = ws
        .store
        .list_for_client::<tether::domain::Contact>(id)
        .unwrap();
    assert_eq!(contacts.len(), 1, "saved");
    assert_eq!((contacts[0].needles_syringes, contacts[0].condoms), (20, 5));
    assert_eq!(contacts[0].kind, tether::domain::ContactKind::Street);
    assert!(ws.profile.as_ref().unwrap().form.is_none(), "form closed");
    h.get_by_label_contains("20 needles");
}

#[test]
fn record_an_arrest_and_a_detention_and_see_the_detained_badge() {
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("Record arrest").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Start detention").click();
    h.run();
    h.get_by_label("Location").click();
    h.run();
    h.get_by_label("Daun Penh police station").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label_contains("Detained at Daun Penh police station");
    let ws = h.state().workspace().unwrap();
    let stay = ws
        .store
        .open_detention(id)
        .unwrap()
        .expect("open detention");
    let arrests = ws
        .store
        .list_for_client::<tether::domain::Arrest>(id)
        .unwrap();
    assert_eq!(arrests.len(), 1);
    assert_eq!(
        stay.arrest_id,
        Some(arrests[0].id()),
        "the stay is linked to the arrest"
    );
    // The client list shows them as detained.
    h.get_by_label("Clients").click();
    h.run();
    h.get_by_label("Detained now").click();
    settle(&mut h);
    assert_eq!(h.state().workspace().unwrap().clients.rids.len(), 1);
}

#[test]
fn a_form_with_an_invalid_date_cannot_be_saved_and_says_why() {
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("Log contact").click();
    h.run();
    h.get_by_label("Date").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Date").type_text("31/02/2026");
    h.run();
    h.get_by_label("Not a date: use YYYY-MM-DD or DD/MM/YYYY");
    h.get_by_label("Save").click();
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    // A date in the future is refused with the domain's own message.
    h.get_by_label("Date").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Date").type_text("2999-01-01");
    h.run();
    h.get_by_label_contains("is in the future");
    h.get_by_label("Save").click();
    h.run();
    let ws = h.state().workspace().unwrap();
    assert!(
        ws.store
            .list_for_client::<tether::domain::Contact>(id)
            .unwrap()
            .is_empty(),
        "nothing saved"
    );
    assert!(
        ws.profile.as_ref().unwrap().form.is_some(),
        "the form stays open"
    );
    // Escape cancels.
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .profile
            .as_ref()
            .unwrap()
            .form
            .is_none()
    );
}

#[test]
fn lock_drops_client_data_from_the_ui_state() {
    let (db, _) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("ដារ៉ា");
    h.get_by_label("Lock (Ctrl+L)").click();
    h.run();
    assert!(
        h.state().workspace().is_none(),
        "the workspace and every screen's data are gone"
    );
    assert!(h.query_by_label_contains("ដារ៉ា").is_none());
    assert!(h.query_by_label_contains("PP-000201").is_none());
    // egui's own memory (text fields, undo history) was cleared too.
    let has_text_state = h.ctx.memory(|m| m.data.len());
    assert!(
        has_text_state < 5,
        "egui memory cleared on lock ({has_text_state} entries)"
    );
}

#[test]
fn hide_names_shows_codes_only() {
    let (db, _) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "");
    h.get_by_label("Vibol");
    h.get_by_label("Hide names").click();
    h.run();
    assert!(h.query_by_label("Vibol").is_none());
    h.get_by_label("BTB-000007");
}

#[test]
fn an_outreach_worker_does_not_see_the_users_screen() {
    let (db, mut store) = fresh();
    add_user(&mut store, "worker", tether::domain::Role::Outreach);
    store.close().unwrap();
    let h = unlocked(db.path.clone(), "worker");
    h.get_by_label("Clients");
    assert!(h.query_by_label("Users").is_none());
    drop(h);
    let mut admin = unlocked(db.path.clone(), "admin");
    admin.get_by_label("Users").click();
    admin.run();
    assert_eq!(
        admin.query_all_by_label("worker").count(),
        2,
        "username and display name"
    );
}

#[test]
fn raid_intake_arrests_everyone_in_one_go() {
    let (db, _) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Raid intake").click();
    h.run();
    for code in ["PP-000201", "BTB-000007", "PP-999999"] {
        h.get_by_label("Client code").focus();
        h.run();
        h.get_by_label("Client code").type_text(code);
        h.run();
        h.get_by_label("Add").click();
        h.run();
    }
    h.get_by_label_contains("PP-999999 is not registered");
    h.get_by_label("Save raid: 3 arrests").click();
    h.run();
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.store.count_live("arrests").unwrap(), 3);
    assert_eq!(
        ws.store.count_live("clients").unwrap(),
        3,
        "the unknown person got a minimal record"
    );
    let new = ws
        .store
        .client_by_code("PP-999999")
        .unwrap()
        .expect("new client");
    assert_eq!(new.nickname, None);
}

#[test]
fn khmer_language_switch_translates_the_screens() {
    let (db, _) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label("ខ្មែរ").click();
    h.run();
    let today_km = tether::ui::i18n::t("Today");
    assert_ne!(today_km, "Today");
    h.get_by_label(today_km);
    // Kept per user: the next login is in Khmer too.
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.store.user().language, "km");
    tether::ui::i18n::set_lang(tether::ui::i18n::Lang::En);
}

#[test]
fn every_ui_string_has_a_khmer_translation() {
    let mut missing = Vec::new();
    let mut count = 0;
    // Every source file under src/ui, folders included.
    let mut files = Vec::new();
    let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ui")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 20, "{} UI source files", files.len());
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        for call in ["t(\"", "tf(\""] {
            let mut rest = src.as_str();
            while let Some(pos) = rest.find(call) {
                let before = rest[..pos].chars().last();
                rest = &rest[pos + call.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let mut text = String::new();
                let mut chars = rest.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => text.push(chars.next().unwrap_or('\\')),
                        '"' => break,
                        c => text.push(c),
                    }
                }
                count += 1;
                if !tether::ui::i18n::has_khmer(&text) {
                    missing.push(format!(
                        "{}: {text}",
                        path.file_name().unwrap().to_string_lossy()
                    ));
                }
            }
        }
    }
    assert!(count > 150, "found {count} UI strings");
    // The words for closed lists (contact kinds, outcomes, ...) too.
    let labels = tether::ui::labels::all_labels();
    assert!(
        labels.len() > 100,
        "found {} closed-list labels",
        labels.len()
    );
    for label in labels {
        if !tether::ui::i18n::has_khmer(label) {
            missing.push(format!("labels.rs: {label}"));
        }
    }
    assert!(
        missing.is_empty(),
        "{} strings lack a Khmer translation:\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn detention_without_art_puts_the_client_on_todays_at_risk_list_until_release_and_refill() {
    let (db, id) = seeded();
    {
        let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
        store
            .create(tether::domain::Enrollment {
                client_id: id,
                service: tether::domain::Service::Art,
                provider: None,
                number: None,
                start: day("2025-01-01"),
                end: None,
                status: tether::domain::EnrollmentStatus::Active,
                dose_mg: None,
                regimen: None,
            })
            .unwrap();
        store.close().unwrap();
    }
    let at_risk = |h: &Harness<'_, TetherApp>| {
        h.state()
            .workspace()
            .unwrap()
            .today
            .worklist
            .iter()
            .any(|e| e.client_id == id && e.kind == tether::continuity::EntryKind::AtRiskDetained)
    };
    let mut h = unlocked(db.path.clone(), "admin");
    settle(&mut h);
    assert!(!at_risk(&h));
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("Start detention").click();
    h.run();
    h.get_by_label("Location").click();
    h.run();
    h.get_by_label("Daun Penh police station").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    // The profile's continuity panel says so too.
    h.get_by_label("Detained where it is not known to be available: visit and negotiate access");
    h.get_by_label("Today").click();
    settle(&mut h);
    assert!(at_risk(&h), "on the at-risk list");
    h.get_by_label_contains("Daun Penh police station, which has no known ART");
    // A follow-up to visit was created for the assigned worker.
    h.get_by_label_contains("Visit in detention at Daun Penh police station");
    // Release, then a refill: off the list, and the re-linkage is done.
    h.get_all_by_label("PP-000201").next().unwrap().click();
    h.run();
    h.get_by_label("End detention").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Today").click();
    settle(&mut h);
    assert!(!at_risk(&h), "released: no longer at risk");
    let relink = |h: &Harness<'_, TetherApp>| {
        h.state()
            .workspace()
            .unwrap()
            .today
            .worklist
            .iter()
            .any(|e| e.client_id == id && e.kind == tether::continuity::EntryKind::ReleaseRelinkage)
    };
    assert!(
        relink(&h),
        "released today with ART and no refill since: re-link"
    );
    h.get_all_by_label("PP-000201").next().unwrap().click();
    h.run();
    h.get_by_label("Record service event").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Today").click();
    settle(&mut h);
    assert!(!relink(&h) && !at_risk(&h), "re-linked: off every list");
    let ws = h.state().workspace().unwrap();
    let open: Vec<_> = ws
        .store
        .list_for_client::<tether::domain::FollowUp>(id)
        .unwrap()
        .into_iter()
        .filter(|f| f.done_on.is_none())
        .collect();
    assert!(open.is_empty(), "rule follow-ups closed: {open:?}");
}

#[test]
fn admin_adds_a_user_and_a_location_through_their_dialogs() {
    let (db, store) = fresh();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Users").click();
    h.run();
    h.get_by_label("Add user").click();
    h.run();
    type_field(&mut h, "Username", "thida.prak");
    type_field(&mut h, "Display name", "Prak Thida");
    type_field(&mut h, "Password", "another long password");
    type_field(&mut h, "Password again", "another long password");
    h.get_by_label("Save").click();
    h.run();
    assert!(
        h.state().workspace().unwrap().users.add.form.is_none(),
        "dialog closed after saving"
    );
    h.get_by_label("Prak Thida");
    // A duplicate username is refused by the store and the dialog stays open with its message.
    h.get_by_label("Add user").click();
    h.run();
    type_field(&mut h, "Username", "thida.prak");
    type_field(&mut h, "Display name", "Someone else");
    type_field(&mut h, "Password", "another long password");
    type_field(&mut h, "Password again", "another long password");
    h.get_by_label("Save").click();
    h.run();
    assert!(h.state().workspace().unwrap().users.add.is_open());
    // Shown in the dialog and in the banner.
    assert_eq!(h.query_all_by_label_contains("is taken").count(), 2);
    // In the dialog, the store's refusal stands beside the Username field.
    let field = h
        .get_by_role_and_label(egui::accesskit::Role::TextInput, "Username")
        .rect();
    let beside = h
        .query_all_by_label_contains("is taken")
        .map(|n| n.rect())
        .filter(|r| (r.center().y - field.center().y).abs() < 20.0 && r.left() > field.left())
        .count();
    assert_eq!(beside, 1, "the refusal is on the Username row");
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(
        !h.state().workspace().unwrap().users.add.is_open(),
        "Escape cancels"
    );
    drop(h);
    assert!(Store::open(&db.path, "thida.prak", "another long password").is_ok());

    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Detention locations").click();
    h.run();
    h.get_by_label("Add location").click();
    h.run();
    type_field(&mut h, "Name", "Prey Sar CC1");
    h.get_by_label("Save").click();
    h.run();
    let ws = h.state().workspace().unwrap();
    assert!(!ws.locations.form.is_open());
    assert!(ws.store.location_by_name("prey sar cc1").unwrap().is_some());
}

// ------------------------------------------------------------ backups

/// Waits for the integrity check and the automatic backup beside the window.
fn settle_maintenance(h: &mut Harness<'_, TetherApp>) {
    let started = std::time::Instant::now();
    loop {
        h.run();
        let busy = h
            .state()
            .workspace()
            .is_some_and(|ws| ws.maintenance.busy());
        if !busy {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "maintenance did not finish"
        );
        wait_ready(h, |ws| ws.maintenance.wait_ready(WAIT));
    }
    h.run();
}

#[test]
fn opening_makes_a_verified_backup_that_settings_lists_and_restores() {
    let (db, _) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    settle_maintenance(&mut h);
    let backups = h.state().workspace().unwrap().store.backups().unwrap();
    assert_eq!(backups.len(), 1, "today's automatic backup");
    assert!(backups[0].verified.as_ref().is_some_and(|v| v.ok));
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label(&backups[0].day.to_string());
    // In the list, and as the last backup's result.
    assert_eq!(h.query_all_by_label_contains("verified: ").count(), 2);
    // A client registered after the backup is gone after restoring it.
    {
        let Session::Open(ws) = &mut h.state_mut().session else {
            panic!("not open")
        };
        ws.store
            .create(tether::domain::Client::with_code("PP-LATER"))
            .unwrap();
        ws.generation += 1;
    }
    h.run();
    h.get_by_label("Restore…").click();
    h.run();
    h.get_by_label_contains("Replace the database with the backup of");
    h.get_by_label("Restore").click();
    h.run();
    assert!(!h.state().is_unlocked(), "restoring logs everyone out");
    h.get_by_label_contains("Restored the backup. Log in again.");
    unlock(&mut h, PASSWORD);
    let ws = h.state().workspace().unwrap();
    assert!(ws.store.client_by_code("PP-LATER").unwrap().is_none());
    assert!(ws.store.client_by_code("PP-000201").unwrap().is_some());
}

/// Damages one page of the clients table in the middle of it (a page
/// the window does not read to open, but the integrity check does).
fn damage_middle(path: &std::path::Path) {
    let key = tether::store::KeyFile::load(path)
        .unwrap()
        .unlock("admin", PASSWORD)
        .unwrap();
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(&format!("PRAGMA key = {};", key.pragma_value().as_str()))
        .unwrap();
    let pages: Vec<i64> = conn
        .prepare("SELECT pageno FROM dbstat WHERE name = 'clients' AND pagetype = 'leaf' ORDER BY pageno")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    drop(conn);
    let page = usize::try_from(pages[pages.len() / 2]).unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    let at = (page - 1) * 4096 + 1024;
    for b in &mut bytes[at..at + 64] {
        *b ^= 0x5a;
    }
    std::fs::write(path, &bytes).unwrap();
}

#[test]
fn a_damaged_file_is_reported_and_the_newest_good_backup_restored() {
    let (db, mut store) = fresh();
    for i in 0..300 {
        let mut c = tether::domain::Client::with_code(&format!("PP-{i:05}"));
        c.notes = Some("x".repeat(300));
        store.create(c).unwrap();
    }
    store.auto_backup(day("2026-11-20")).unwrap();
    let expected = store.canonical_dump().unwrap();
    store.close().unwrap();
    damage_middle(&db.path);

    let mut h = unlocked(db.path.clone(), "admin");
    settle_maintenance(&mut h);
    h.get_by_label("This database file is damaged.");
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .maintenance
            .last_backup
            .is_none(),
        "no backup is made of a damaged file"
    );
    h.get_by_label("Restore the newest good backup").click();
    h.run();
    h.get_by_label_contains("Restored the backup of 2026-11-20");
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.store.canonical_dump().unwrap(), expected);
    assert!(ws.store.check().unwrap().is_ok());
}

#[test]
fn a_file_that_cannot_be_opened_offers_its_backups_on_the_unlock_screen() {
    let (db, mut store) = fresh();
    client(&mut store, "PP-1", Some("សុខា"));
    store.auto_backup(day("2026-11-20")).unwrap();
    store.close().unwrap();
    // Overwrite the first page: the file no longer opens at all.
    let mut bytes = std::fs::read(&db.path).unwrap();
    for b in &mut bytes[100..400] {
        *b ^= 0x5a;
    }
    std::fs::write(&db.path, &bytes).unwrap();

    let mut h = harness(db.path.clone(), "admin");
    unlock(&mut h, PASSWORD);
    h.get_by_label_contains("the database file is damaged");
    assert!(!h.state().is_unlocked());
    h.get_by_label("This database file is damaged.");
    h.get_by_label_contains("the newest is of 2026-11-20");
    type_into(&mut h, "Password", PASSWORD);
    h.get_by_label("Restore the newest good backup").click();
    h.run();
    assert!(h.state().is_unlocked(), "restored and opened");
    let ws = h.state().workspace().unwrap();
    assert_eq!(
        ws.store
            .client_by_code("PP-1")
            .unwrap()
            .unwrap()
            .nickname
            .as_deref(),
        Some("សុខា")
    );
}

#[test]
fn the_dashboard_shows_caseload_and_charts_with_their_numbers() {
    let (db, _) = seeded();
    {
        let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
        let sokha = add_user(&mut store, "sokha", tether::domain::Role::Outreach).id();
        let mut c = tether::domain::Client::with_code("PP-SOKHA-1");
        c.assigned_worker = Some(sokha);
        let c = store.create(c).unwrap();
        let mut contact = tether::domain::Contact::new(
            c.id(),
            tether::store::today(),
            tether::domain::ContactKind::Street,
        );
        contact.worker_id = Some(sokha);
        store.create(contact).unwrap();
        store.close().unwrap();
    }
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Dashboard").click();
    let started = std::time::Instant::now();
    loop {
        h.run();
        let loading = h
            .state()
            .workspace()
            .is_some_and(|ws| ws.dashboard.loading() || ws.dashboard.data.is_none());
        if !loading {
            break;
        }
        assert!(started.elapsed().as_secs() < 20, "dashboard did not load");
        wait_ready(&mut h, |ws| ws.dashboard.wait_ready(WAIT));
    }
    h.run();
    h.get_by_label("Caseload per worker");
    h.get_by_label("sokha");
    h.get_by_label("Contacts per week");
    h.get_by_label("Arrests per month, by reason");
    h.get_by_label("Clients detained now, by location");
    h.get_by_label("Re-linkage after release (clients on methadone or ART)");
    let ws = h.state().workspace().unwrap();
    let data = ws.dashboard.data.as_ref().unwrap();
    let sokha = data.workers.iter().find(|w| w.name == "sokha").unwrap();
    assert_eq!((sokha.active_clients, sokha.contacts_30_days), (1, 1));
    // Outreach workers have no dashboard.
    drop(h);
    let mut h = unlocked(db.path.clone(), "sokha");
    assert!(h.query_by_label("Dashboard").is_none());
    h.run();
}

// ------------------------------------------------------------ import

fn settle_import(h: &mut Harness<'_, TetherApp>) {
    let started = std::time::Instant::now();
    loop {
        h.step();
        let busy = h.state().workspace().is_some_and(|ws| ws.import.busy());
        if !busy {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "import did not finish");
        wait_ready(h, |ws| ws.import.wait_ready(WAIT));
    }
    h.run();
}

#[test]
fn import_a_clients_file_with_a_column_to_map_then_check_then_import() {
    let (db, _) = seeded();
    let file = db.dir.path().join("old sheet.csv");
    std::fs::write(
        &file,
        "\u{feff}code,Nick name,sex,birth_year,registered_on\n\
         PP-100,សុភា,female,1990,15/03/2024\n\
         PP-101,Dara,male,,2024-04-01\n",
    )
    .unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Import").click();
    h.run();
    h.state_mut()
        .workspace_mut()
        .unwrap()
        .import
        .open_file(file.clone());
    settle_import(&mut h);
    h.get_by_label("2 rows, 5 columns");
    h.get_by_label("សុភា");
    // "Nick name" is not a column name: it must be mapped (or skipped).
    h.get_by_label_contains("unknown column");
    assert!(
        h.get_by_label("Check every row")
            .accesskit_node()
            .is_disabled(),
        "no check while a column is unmapped"
    );
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Nick name")
        .click();
    h.run();
    h.get_by_label("nickname").click();
    h.run();
    assert!(h.query_by_label_contains("unknown column").is_none());
    h.get_by_label("Check every row").click();
    settle_import(&mut h);
    h.get_by_label_contains("Every row is fine: 2 would be added");
    h.get_by_label("Import…").click();
    h.run();
    h.get_by_label_contains("Add 2 Clients records to the database?");
    h.get_by_label("Import now").click();
    settle_import(&mut h);
    // In the banner and in the report below the preview.
    assert_eq!(
        h.query_all_by_label_contains("Imported: 2 added, 0 already present")
            .count(),
        2
    );
    let ws = h.state().workspace().unwrap();
    let c = ws.store.client_by_code("PP-100").unwrap().unwrap();
    assert_eq!(c.nickname.as_deref(), Some("សុភា"));
    assert_eq!(c.registered_on, Some(day("2024-03-15")));
}

#[test]
fn import_lists_every_problem_and_writes_nothing() {
    let (db, _) = seeded();
    let file = db.dir.path().join("contacts.csv");
    std::fs::write(
        &file,
        "client_code,date,kind,needles_syringes\n\
         PP-000201,2026-01-05,street,10\n\
         PP-NOPE,2026-01-06,street,5\n\
         PP-000201,31/02/2026,street,5\n\
         PP-000201,2026-01-07,flying,-3\n",
    )
    .unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Import").click();
    h.run();
    h.get_by_label("Contacts").click();
    h.run();
    h.state_mut()
        .workspace_mut()
        .unwrap()
        .import
        .open_file(file.clone());
    settle_import(&mut h);
    h.get_by_label("Check every row").click();
    settle_import(&mut h);
    let ws = h.state().workspace().unwrap();
    let (report, _) = ws.import.report.as_ref().unwrap();
    let rows: Vec<usize> = report.problems.iter().map(|p| p.row).collect();
    assert!(
        rows.contains(&3) && rows.contains(&4) && rows.contains(&5),
        "{rows:?}"
    );
    assert!(report.problems.len() >= 4, "{:?}", report.problems);
    h.get_by_label_contains("problems: nothing was written");
    assert_eq!(ws.store.count_live("contacts").unwrap(), 0);
    assert!(
        h.get_by_label("Import…").accesskit_node().is_disabled(),
        "no import while problems remain"
    );
}

// ------------------------------------------------------------ reports

fn settle_reports(h: &mut Harness<'_, TetherApp>) {
    let started = std::time::Instant::now();
    loop {
        h.step();
        let busy = h.state().workspace().is_some_and(|ws| ws.reports.busy());
        if !busy {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "report did not finish");
        wait_ready(h, |ws| ws.reports.wait_ready(WAIT));
    }
    h.run();
}

#[test]
fn make_a_period_report_save_it_and_export_the_line_list() {
    let (db, client_id) = seeded();
    {
        let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
        for date in ["2026-03-01", "2026-03-15", "2026-04-02"] {
            store
                .create(tether::domain::Contact::new(
                    client_id,
                    day(date),
                    tether::domain::ContactKind::Street,
                ))
                .unwrap();
        }
        store.close().unwrap();
    }
    let mut h = unlocked(db.path.clone(), "admin");
    h.get_by_label("Reports").click();
    h.run();
    {
        let ws = h.state_mut().workspace_mut().unwrap();
        ws.reports.from = "2026-03-01".into();
        ws.reports.to = "31/03/2026".into();
    }
    h.run();
    h.get_by_label("Make report").click();
    settle_reports(&mut h);
    h.get_by_label("Report for 2026-03-01 to 2026-03-31");
    let report = h
        .state()
        .workspace()
        .unwrap()
        .reports
        .report
        .clone()
        .unwrap();
    assert_eq!(report.indicator("contacts").unwrap().total, 2);
    assert_eq!(report.indicator("clients_reached").unwrap().total, 1);
    // Saving and exporting go through the store, which audits them.
    let saved = db.dir.path().join("march.xlsx");
    let listed = db.dir.path().join("clients.csv");
    {
        let ws = h.state_mut().workspace_mut().unwrap();
        ws.apply(tether::ui::Action::Reports(
            tether::ui::reports::ReportsCommand::Save(saved.clone()),
        ));
        ws.apply(tether::ui::Action::Reports(
            tether::ui::reports::ReportsCommand::Export(listed.clone(), false),
        ));
    }
    settle_reports(&mut h);
    h.get_by_label_contains("Exported 2 clients");
    assert!(saved.exists());
    let text = std::fs::read_to_string(&listed).unwrap();
    assert!(text.contains("PP-000201"));
    assert!(!text.contains("ដារ៉ា"), "de-identified by default");
    let ws = h.state().workspace().unwrap();
    let exports = ws
        .store
        .audit_log(20)
        .unwrap()
        .iter()
        .filter(|a| a.action == tether::domain::AuditAction::Export)
        .count();
    assert_eq!(exports, 2);
}

/// Two laptops that changed one client's notes before syncing: `a` (at
/// `db`) holds the conflict. Returns the client's id.
fn conflicted() -> (TestDb, TestDb, uuid::Uuid) {
    use tether::domain::Client;
    let (a_db, mut a) = fresh();
    let (b_db, mut b) = fresh();
    enroll(&mut a, &b);
    enroll(&mut b, &a);
    // One clock that moves only when told orders the two changes.
    let clock = std::sync::Arc::new(tether::clock::ManualClock::new(chrono::Utc::now()));
    a.set_clock(clock.clone());
    b.set_clock(clock.clone());
    let key = tether::sync::bundle::SyncKey::new("mekong river outreach 2026").unwrap();
    let c = client(&mut a, "PP-0042", Some("Sokha"));
    let all = a.sync_export(&key, 0).unwrap();
    b.sync_import(&key, &all.bytes, &mut |_, _, _| {}).unwrap();
    let mut on_a: Client = c.data.clone();
    on_a.notes = Some("moved to Poipet".into());
    on_a.phone = Some("097 111 222".into());
    a.update(c.id(), on_a).unwrap();
    clock.advance(chrono::Duration::seconds(1)); // b's change is the later one
    let mut on_b: Client = c.data.clone();
    on_b.notes = Some("held at Prey Speu".into());
    b.update(c.id(), on_b).unwrap();
    let from_b = b.sync_export(&key, 0).unwrap();
    let merged = a
        .sync_import(&key, &from_b.bytes, &mut |_, _, _| {})
        .unwrap();
    assert_eq!(merged.conflicts, 1);
    a.close().unwrap();
    b.close().unwrap();
    (a_db, b_db, c.id())
}

#[test]
fn a_coordinator_reviews_a_sync_conflict_and_takes_one_field_of_the_other_version() {
    let (db, _b, id) = conflicted();
    {
        let mut s = Store::open(&db.path, "admin", PASSWORD).unwrap();
        add_user(&mut s, "chenda", tether::domain::Role::Coordinator);
    }
    let mut h = unlocked(db.path.clone(), "chenda");
    h.get_by_label("Sync review (1)").click();
    h.run();
    assert_eq!(
        h.query_all_by_label("client PP-0042").count(),
        2,
        "in the list and as the heading of the details"
    );
    // b's later notes were kept; a's notes and phone are the other version.
    h.get_by_label("held at Prey Speu");
    h.get_by_label("moved to Poipet");
    h.get_by_label("097 111 222");
    assert!(
        h.get_by_label("Save with the ticked fields")
            .accesskit_node()
            .is_disabled(),
        "nothing ticked yet"
    );
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Phone")
        .click();
    h.run();
    h.get_by_label("Save with the ticked fields").click();
    h.run();
    h.get_by_label("Conflict resolved");
    h.get_by_label("No conflicts.");
    let ws = h.state().workspace().unwrap();
    let saved: tether::domain::Saved<tether::domain::Client> = ws.store.get(id).unwrap();
    assert_eq!(
        saved.data.phone.as_deref(),
        Some("097 111 222"),
        "the ticked field came over"
    );
    assert_eq!(
        saved.data.notes.as_deref(),
        Some("held at Prey Speu"),
        "the rest stayed"
    );
    assert_eq!(ws.store.open_conflict_count().unwrap(), 0);
    let audit = ws.store.audit_for_record(id).unwrap();
    assert!(audit[0].detail.contains("took phone"), "{:?}", audit[0]);
    // An outreach worker has no review screen.
    drop(h);
    {
        let mut s = Store::open(&db.path, "admin", PASSWORD).unwrap();
        add_user(&mut s, "vanna", tether::domain::Role::Outreach);
    }
    let h = unlocked(db.path.clone(), "vanna");
    assert!(h.query_by_label_contains("Sync review").is_none());
}

#[test]
fn sync_now_in_settings_exchanges_bundles_through_the_folder() {
    let (a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    enroll(&mut a, &b);
    enroll(&mut b, &a);
    let folder = a_db.dir.path().join("shared");
    std::fs::create_dir(&folder).unwrap();
    client(&mut b, "BB-0001", Some("Dara"));
    let key = tether::sync::bundle::SyncKey::new("mekong river outreach 2026").unwrap();
    b.sync_with_folder(&key, &folder, &mut |_, _, _| {})
        .unwrap();
    a.set_sync_folder(Some(&folder)).unwrap();
    a.close().unwrap();
    // Tall enough to show the sync section below the backups.
    let path = a_db.path.clone();
    let mut h = Harness::builder()
        .with_max_steps(MAX_STEPS)
        .with_size(egui::vec2(1100.0, 1900.0))
        .build_eframe(move |cc| TetherApp::new(cc, Some(path), Some("admin".into())));
    unlock(&mut h, PASSWORD);
    h.get_by_label("Settings").click();
    h.run();
    assert!(
        h.get_by_label("Sync now").accesskit_node().is_disabled(),
        "no passphrase yet"
    );
    type_field(&mut h, "Set sync passphrase", "mekong river outreach 2026");
    type_field(&mut h, "Passphrase again", "mekong river outreach 2026");
    h.get_by_label("Save passphrase").click();
    h.run();
    h.get_by_label("Sync passphrase saved");
    h.get_by_label("Sync now").click();
    wait_for_sync(&mut h);
    assert_eq!(
        h.query_all_by_label_contains("Sync done: 2 records received from 1 laptop(s)")
            .count(),
        2,
        "in the banner and in the sync section"
    );
    let ws = h.state().workspace().unwrap();
    assert_eq!(
        ws.store.count_live("clients").unwrap(),
        1,
        "b's client is here"
    );
    assert!(
        folder
            .join(format!("{}.tether-sync", ws.store.device_id()))
            .exists(),
        "a's bundle is in the folder"
    );
}

fn wait_for_sync(h: &mut Harness<'_, TetherApp>) {
    let started = std::time::Instant::now();
    loop {
        h.step();
        let busy = h
            .state()
            .workspace()
            .is_some_and(|ws| ws.settings.sync.busy());
        if !busy {
            break;
        }
        assert!(started.elapsed().as_secs() < 30, "sync did not finish");
        wait_ready(h, |ws| ws.settings.sync.wait_ready(WAIT));
    }
    h.run();
}

#[test]
fn a_laptop_not_enrolled_is_refused_until_an_admin_enrolls_it_in_settings() {
    let (a_db, mut a) = fresh();
    let (_b_db, mut b) = fresh();
    let folder = a_db.dir.path().join("shared");
    std::fs::create_dir(&folder).unwrap();
    client(&mut b, "BB-0002", Some("Dara"));
    let key = tether::sync::bundle::SyncKey::new("mekong river outreach 2026").unwrap();
    b.sync_with_folder(&key, &folder, &mut |_, _, _| {})
        .unwrap();
    a.set_sync_passphrase("mekong river outreach 2026").unwrap();
    a.set_sync_folder(Some(&folder)).unwrap();
    let b_fingerprint = b.device_fingerprint().unwrap();
    let (a_id, a_key) = (
        a.device_id().to_owned(),
        a.device_key().unwrap().public_hex(),
    );
    a.close().unwrap();
    let path = a_db.path.clone();
    let mut h = Harness::builder()
        .with_max_steps(MAX_STEPS)
        .with_size(egui::vec2(1200.0, 2200.0))
        .build_eframe(move |cc| TetherApp::new(cc, Some(path), Some("admin".into())));
    unlock(&mut h, PASSWORD);
    h.get_by_label("Settings").click();
    h.run();
    h.get_by_label("Sync now").click();
    wait_for_sync(&mut h);
    h.get_by_label_contains("not enrolled on this laptop");
    assert_eq!(
        h.state()
            .workspace()
            .unwrap()
            .store
            .count_live("clients")
            .unwrap(),
        0,
        "nothing taken from a laptop not enrolled"
    );
    // This laptop's key is shown to compare, in the field and in the list.
    let own = h
        .state()
        .workspace()
        .unwrap()
        .store
        .device_fingerprint()
        .unwrap();
    assert_eq!(h.query_all_by_label(&own).count(), 2);
    // The other laptop is listed with the key to compare, not enrolled.
    h.get_by_label(&b_fingerprint);
    h.get_by_label("not enrolled");
    // Its actions are in one menu. A laptop nobody enrolled can be
    // forgotten (a stranger's bundle); it is listed again when it writes.
    assert_eq!(h.query_all_by_label("Enroll as office laptop").count(), 0);
    h.get_by_label("Change").click();
    h.run();
    h.get_by_label("Forget this laptop").click();
    h.run();
    h.get_by_label("Laptop forgotten");
    assert_eq!(h.query_all_by_label(&b_fingerprint).count(), 0);
    h.get_by_label("Sync now").click();
    wait_for_sync(&mut h);
    h.get_by_label(&b_fingerprint);
    h.get_by_label("Change").click();
    h.run();
    h.get_by_label("Enroll as office laptop").click();
    h.run();
    h.get_by_label("Laptop enrolled");
    h.get_by_label("office laptop");
    // (The other laptop enrolls this one too: it seals its bundles for the
    // laptops it has enrolled.)
    b.enroll_device(&a_id, Some(&a_key), tether::store::Trust::Office)
        .unwrap();
    b.sync_with_folder(&key, &folder, &mut |_, _, _| {})
        .unwrap();
    h.get_by_label("Sync now").click();
    wait_for_sync(&mut h);
    let ws = h.state().workspace().unwrap();
    assert_eq!(
        ws.store.count_live("clients").unwrap(),
        1,
        "b's client is here"
    );
}

/// The office's admin chooses which clients a field laptop holds; the
/// field laptop shows its scope once it has synced, and holds only those.
#[test]
fn an_admin_chooses_a_field_laptops_clients_and_the_field_laptop_shows_them() {
    let (o_db, mut o) = fresh();
    let (f_db, mut f) = fresh();
    let sokha = add_user(&mut o, "sokha", tether::domain::Role::Outreach);
    add_user(&mut o, "dara", tether::domain::Role::Outreach);
    let mut mine = tether::domain::Client::with_code("PP-0501");
    mine.assigned_worker = Some(sokha.id());
    o.create(mine).unwrap();
    client(&mut o, "PP-0502", None);
    enroll_as(&mut o, &f, tether::store::Trust::Member);
    enroll_as(&mut f, &o, tether::store::Trust::Office);
    let folder = o_db.dir.path().join("shared");
    std::fs::create_dir(&folder).unwrap();
    for s in [&mut o, &mut f] {
        s.set_sync_passphrase("mekong river outreach 2026").unwrap();
        s.set_sync_folder(Some(&folder)).unwrap();
    }
    let f_id = f.device_id().to_owned();
    let f_short: String = f
        .device_id()
        .chars()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    o.close().unwrap();
    f.close().unwrap();
    let open = |path: PathBuf| {
        let mut h = Harness::builder()
            .with_max_steps(MAX_STEPS)
            .with_size(egui::vec2(1400.0, 2200.0))
            .build_eframe(move |cc| TetherApp::new(cc, Some(path), Some("admin".into())));
        unlock(&mut h, PASSWORD);
        h.get_by_label("Settings").click();
        h.run();
        h
    };
    let mut h = open(o_db.path.clone());
    // This laptop holds every client; the field laptop nothing, until chosen.
    assert_eq!(h.query_all_by_label("every client").count(), 2);
    h.get_by_label("nothing yet: choose its clients");
    h.get_by_label("field laptop");
    h.get_by_label("Change").click();
    h.run();
    h.get_by_label("Choose its clients").click();
    h.run();
    h.get_by_label_contains(&format!("Which clients laptop {f_short} holds"));
    h.get_by_label("Only the clients of these outreach workers:")
        .click();
    h.run();
    h.get_by_label("sokha").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label_contains("Laptop's clients changed");
    h.get_by_label("the clients of sokha (0 held)");
    assert_eq!(
        h.state()
            .workspace()
            .unwrap()
            .store
            .device_scope(&f_id)
            .unwrap(),
        tether::store::Scope::Workers(vec![sokha.id()])
    );
    h.get_by_label("Sync now").click();
    wait_for_sync(&mut h);
    drop(h);
    // The field laptop syncs: it holds sokha's client alone, and says so.
    let mut h = open(f_db.path.clone());
    h.get_by_label("Sync now").click();
    wait_for_sync(&mut h);
    assert_eq!(h.query_all_by_label("the clients of sokha").count(), 2);
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.store.count_live("clients").unwrap(), 1);
    assert_eq!(
        ws.store.own_scope().unwrap(),
        tether::store::Scope::Workers(vec![sokha.id()])
    );
    assert!(
        ws.store
            .search_clients("PP-0502", 5)
            .unwrap()
            .rows
            .is_empty()
    );
    // A field laptop chooses no one's clients.
    h.get_by_label("Change").click();
    h.run();
    h.get_by_label("Retire");
    assert_eq!(h.query_all_by_label("Choose its clients").count(), 0);
}

#[test]
fn forgot_password_on_the_unlock_screen_recovers_with_the_recovery_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("office.db");
    let init = tether::store::Store::init(&path, "admin", "Admin", PASSWORD).unwrap();
    let recovery = init.recovery_key.clone();
    let mut store = init.store;
    client(&mut store, "PP-0077", Some("Sokha"));
    store.close().unwrap();
    std::fs::remove_file(tether::store::key_file_path(&path)).unwrap();
    let mut h = harness(path.clone(), "admin");
    unlock(&mut h, PASSWORD);
    assert!(!h.state().is_unlocked(), "the key file is gone");
    h.get_by_label("Forgot password or lost key file?").click();
    h.run();
    type_field(&mut h, "Recovery key", "AAAA-BBBB");
    type_field(&mut h, "New password", "a new office password");
    type_field(&mut h, "Password again", "a new office password");
    h.get_by_label("Recover and open").click();
    h.run();
    assert!(
        !h.state().is_unlocked(),
        "a wrong recovery key opens nothing"
    );
    h.get_by_label("that is not a valid recovery key");
    // The fields were cleared; the right key, typed with spaces and in lower case.
    let typed = recovery.replace('-', " ").to_lowercase();
    type_field(&mut h, "Recovery key", &typed);
    type_field(&mut h, "New password", "a new office password");
    type_field(&mut h, "Password again", "a new office password");
    h.get_by_label("Recover and open").click();
    h.run();
    assert!(h.state().is_unlocked());
    h.get_by_label_contains("The key file was made anew");
    let ws = h.state().workspace().unwrap();
    assert_eq!(ws.store.count_live("clients").unwrap(), 1);
    drop(h);
    tether::store::Store::open(&path, "admin", "a new office password")
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn the_next_admin_is_told_of_failed_logins() {
    let (db, store) = fresh();
    store.close().unwrap();
    for _ in 0..3 {
        assert!(tether::store::Store::open(&db.path, "admin", "not the password").is_err());
    }
    let mut h = harness(db.path.clone(), "admin");
    unlock(&mut h, PASSWORD);
    assert!(h.state().is_unlocked());
    h.get_by_label_contains("3 failed logins on this laptop since");
}

#[test]
fn deactivating_a_user_asks_first_changes_the_key_and_marks_older_backups() {
    let (db, _) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    add_user(&mut store, "sokha", tether::domain::Role::Outreach);
    let yesterday = tether::store::today().pred_opt().unwrap();
    store.auto_backup(yesterday).unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    settle_maintenance(&mut h);
    h.get_by_label("Users").click();
    h.run();
    h.get_by_label("Deactivate").click();
    h.run();
    h.get_by_label("Deactivate sokha?");
    // Cancel changes nothing.
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label("Deactivate sokha?").is_none());
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .store
            .key_changed_at()
            .unwrap()
            .is_none()
    );
    h.get_by_label("Deactivate").click();
    h.run();
    h.get_by_label("Deactivate and change the key").click();
    h.run();
    settle_maintenance(&mut h);
    assert!(
        h.query_all_by_label_contains("the database key is changed")
            .count()
            >= 1
    );
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .store
            .key_changed_at()
            .unwrap()
            .is_some()
    );
    // The screens read with the new key: the client list still searches.
    h.get_by_label("Clients").click();
    settle(&mut h);
    assert!(h.query_by_label_contains("BTB-000007").is_some());
    // Settings lists the fresh backup with the new key and yesterday's as old.
    h.get_by_label("Settings").click();
    h.run();
    assert_eq!(
        h.query_all_by_label_contains("old key: opens with the passwords of its day")
            .count(),
        1
    );
    drop(h);
    assert!(matches!(
        Store::open(&db.path, "sokha", PASSWORD),
        Err(tether::store::StoreError::WrongPassword)
    ));
    let backups = tether::store::backups_in(&tether::store::default_backup_dir(&db.path)).unwrap();
    assert_eq!(backups.len(), 2);
}

#[test]
fn a_contact_is_corrected_and_removed_from_its_timeline_row() {
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let mut contact =
        tether::domain::Contact::new(id, day("2026-11-20"), tether::domain::ContactKind::Street);
    contact.needles_syringes = 300;
    let contact = store.create(contact).unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("300 needles");
    // The typo: 300 needles, meant 30.
    h.get_by_label("Correct").click();
    h.run();
    h.get_by_label("Correct contact");
    h.get_by_label("Needles and syringes").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Needles and syringes").type_text("30");
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Contact corrected");
    h.get_by_label("30 needles");
    assert!(h.query_by_label("300 needles").is_none());
    {
        let ws = h.state().workspace().unwrap();
        let saved = ws
            .store
            .get::<tether::domain::Contact>(contact.id())
            .unwrap();
        assert_eq!(saved.needles_syringes, 30);
        assert_eq!(
            ws.store
                .list_for_client::<tether::domain::Contact>(id)
                .unwrap()
                .len(),
            1,
            "corrected, not added"
        );
    }
    // Escape leaves the confirmation, and nothing is removed.
    h.get_by_label("Remove…").click();
    h.run();
    h.get_by_label("Remove this contact?");
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.query_by_label("Remove this contact?").is_none());
    assert!(
        !h.state()
            .workspace()
            .unwrap()
            .store
            .get::<tether::domain::Contact>(contact.id())
            .unwrap()
            .meta
            .deleted
    );
    // Then removed as a duplicate: gone from the timeline, kept in history.
    h.get_by_label("Remove…").click();
    h.run();
    h.get_by_label("Remove this contact?");
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Reason")
        .click();
    h.run();
    h.get_by_label("Duplicate").click();
    h.run();
    h.get_by_label("Remove").click();
    h.run();
    h.get_by_label("Contact removed; it stays in the history");
    assert!(h.query_by_label("30 needles").is_none());
    // The History tab tells who did what, field names only.
    h.get_by_label("History").click();
    h.run();
    h.get_by_label("removed: Duplicate");
    h.get_by_label("needles_syringes");
    let ws = h.state().workspace().unwrap();
    assert!(
        ws.store
            .get::<tether::domain::Contact>(contact.id())
            .unwrap()
            .meta
            .deleted
    );
    let history = ws.store.client_history(id).unwrap();
    assert_eq!(history.last().unwrap().detail, "removed: duplicate");
}

#[test]
fn undo_in_the_notice_takes_back_a_contact_just_logged() {
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("Log contact").click();
    h.run();
    type_field(&mut h, "Needles and syringes", "25");
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Contact logged");
    h.get_by_label("25 needles");
    h.get_by_label("Undo").click();
    h.run();
    h.get_by_label("Undone");
    assert!(h.query_by_label("25 needles").is_none());
    assert!(h.query_by_label("Undo").is_none(), "undone once");
    let ws = h.state().workspace().unwrap();
    assert!(
        ws.store
            .list_for_client::<tether::domain::Contact>(id)
            .unwrap()
            .is_empty()
    );
    // Not erased: the history says it was logged, then removed.
    let history = ws.store.client_history(id).unwrap();
    assert_eq!(history.last().unwrap().detail, "removed: entered_in_error");
}

#[test]
fn an_outreach_worker_is_refused_correcting_another_workers_contact() {
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    add_user(&mut store, "sokha", tether::domain::Role::Outreach);
    let mut contact =
        tether::domain::Contact::new(id, day("2026-10-20"), tether::domain::ContactKind::Street);
    contact.condoms = 7;
    let contact = store.create(contact).unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "sokha");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("7 condoms");
    h.get_by_label("Correct").click();
    h.run();
    h.get_by_label("Condoms").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Condoms").type_text("70");
    h.run();
    h.get_by_label("Save").click();
    h.run();
    // Refused by the store, said in the form and the banner; nothing changed.
    assert!(
        h.query_all_by_label_contains("may not correct or remove a record someone else entered")
            .count()
            >= 1
    );
    let ws = h.state().workspace().unwrap();
    assert!(
        ws.profile.as_ref().unwrap().form.is_some(),
        "the form stays open"
    );
    assert_eq!(
        ws.store
            .get::<tether::domain::Contact>(contact.id())
            .unwrap()
            .condoms,
        7
    );
    assert!(h.query_by_label("Undo").is_none());
}

#[test]
fn an_arrest_is_corrected_and_removed_after_saying_which_stay_it_unlinks() {
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let place = store
        .location_by_name("Daun Penh police station")
        .unwrap()
        .unwrap();
    let arrest = store
        .create(tether::domain::Arrest::new(id, day("2026-11-01")))
        .unwrap();
    let stay = store
        .create(tether::domain::Detention {
            client_id: id,
            location_id: place.id(),
            start: day("2026-11-01"),
            end: None,
            basis: None,
            arrest_id: Some(arrest.id()),
            release_reason: None,
            notes: None,
        })
        .unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    // The stay's row has its own Correct: take the one on the arrest's row.
    let row = h.get_by_label("Arrest").rect().center().y;
    h.query_all_by_label("Correct")
        .find(|n| (n.rect().center().y - row).abs() < 8.0)
        .expect("Correct on the arrest's row")
        .click();
    h.run();
    h.get_by_label("Correct arrest");
    h.get_by_role_and_label(egui::accesskit::Role::CheckBox, "Legal aid")
        .click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Arrest corrected");
    assert!(
        h.state()
            .workspace()
            .unwrap()
            .store
            .get::<tether::domain::Arrest>(arrest.id())
            .unwrap()
            .legal_aid
    );
    // The stay's row has its own Remove… too.
    let row = h.get_by_label("Arrest").rect().center().y;
    h.query_all_by_label("Remove…")
        .find(|n| (n.rect().center().y - row).abs() < 8.0)
        .expect("Remove… on the arrest's row")
        .click();
    h.run();
    h.get_by_label("Remove this arrest?");
    h.get_by_label_contains("1 detention stay(s) record this arrest");
    h.get_by_label("Remove").click();
    h.run();
    h.get_by_label("Arrest removed; it stays in the history");
    let ws = h.state().workspace().unwrap();
    assert!(
        ws.store
            .get::<tether::domain::Arrest>(arrest.id())
            .unwrap()
            .meta
            .deleted
    );
    let kept = ws
        .store
        .get::<tether::domain::Detention>(stay.id())
        .unwrap();
    assert!(!kept.meta.deleted, "the stay stays");
    assert_eq!(kept.arrest_id, None);
}

#[test]
fn settings_sync_and_the_navigation_run_no_statement_while_drawing() {
    let (db, _) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    settle_maintenance(&mut h);
    h.get_by_label("Settings").click();
    for _ in 0..3 {
        h.run();
    }
    h.state().workspace().unwrap().store.trace_statements();
    let before = h.state().workspace().unwrap().store.statements_run();
    for _ in 0..5 {
        h.run();
    }
    let after = h.state().workspace().unwrap().store.statements_run();
    assert_eq!(after - before, 0, "statements run while drawing Settings");
    // The count is live: one read of the store on this thread shows up.
    let ws = h.state().workspace().unwrap();
    let _ = ws.store.thresholds();
    assert!(ws.store.statements_run() > after);
}

#[test]
fn a_refill_of_300_days_is_corrected_to_30_and_the_rules_see_it() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let art = store
        .create(Enrollment {
            client_id: id,
            service: Service::Art,
            provider: None,
            number: None,
            start: tether::store::today() - chrono::Duration::days(365),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap();
    let refill = store
        .create(ServiceEvent {
            enrollment_id: art.id(),
            client_id: id,
            date: tether::store::today() - chrono::Duration::days(60),
            kind: ServiceEventKind::Refill,
            days_supplied: Some(300),
            dose_mg: None,
            cause: None,
            notes: None,
        })
        .unwrap();
    let today = tether::store::today();
    let interrupted = |s: &Store| {
        s.worklist(today, None)
            .unwrap()
            .iter()
            .any(|e| e.client_id == id && e.kind == tether::continuity::EntryKind::ArtInterrupted)
    };
    assert!(!interrupted(&store), "300 days hide the interruption");
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    click_on_row(&mut h, "300 days", "Correct");
    h.get_by_label("Correct service event");
    h.get_by_label("Days supplied").focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_label("Days supplied").type_text("30");
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Service event corrected");
    let ws = h.state().workspace().unwrap();
    assert_eq!(
        ws.store
            .get::<ServiceEvent>(refill.id())
            .unwrap()
            .days_supplied,
        Some(30)
    );
    assert!(
        interrupted(&ws.store),
        "30 days from August: interrupted by now"
    );
}

#[test]
fn a_contact_logged_on_the_wrong_client_is_moved_from_its_row() {
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let mut contact =
        tether::domain::Contact::new(id, day("2026-11-20"), tether::domain::ContactKind::Street);
    contact.condoms = 3;
    let contact = store.create(contact).unwrap();
    let right = store.client_by_code("BTB-000007").unwrap().unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    click_on_row(&mut h, "3 condoms", "Move…");
    h.get_by_label("Move this contact to another client?");
    type_field(&mut h, "The right client's code", "NOPE-1");
    h.get_by_label("Move").click();
    h.run();
    h.get_by_label("No client has the code NOPE-1");
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "The right client's code")
        .focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "The right client's code")
        .type_text("btb-000007");
    h.run();
    h.get_by_label("Move").click();
    h.run();
    h.get_by_label("Contact moved to the right client");
    assert!(
        h.query_by_label("3 condoms").is_none(),
        "gone from this timeline"
    );
    let ws = h.state().workspace().unwrap();
    assert_eq!(
        ws.store
            .get::<tether::domain::Contact>(contact.id())
            .unwrap()
            .client_id,
        right.id()
    );
}

#[test]
fn correcting_where_a_stay_held_someone_clears_the_at_risk_entry() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let today = tether::store::today();
    store
        .create(Enrollment {
            client_id: id,
            service: Service::Art,
            provider: None,
            number: None,
            start: today - chrono::Duration::days(100),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap();
    let no_art = store
        .location_by_name("Daun Penh police station")
        .unwrap()
        .unwrap();
    let mut with_art = Location::new("Prey Sar CC1", LocationKind::Prison);
    with_art.art = Availability::Yes;
    let with_art = store.create(with_art).unwrap();
    let stay = store
        .create(Detention {
            client_id: id,
            location_id: no_art.id(),
            start: today - chrono::Duration::days(3),
            end: None,
            basis: None,
            arrest_id: None,
            release_reason: None,
            notes: None,
        })
        .unwrap();
    let at_risk = |s: &Store| {
        s.worklist(today, None)
            .unwrap()
            .iter()
            .any(|e| e.client_id == id && e.kind == tether::continuity::EntryKind::AtRiskDetained)
    };
    assert!(at_risk(&store));
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    click_on_row(&mut h, "Daun Penh police station open", "Correct");
    h.get_by_label("Correct detention stay");
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Location")
        .click();
    h.run();
    h.get_by_label("Prey Sar CC1").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Detention stay corrected");
    let ws = h.state().workspace().unwrap();
    let saved = ws.store.get::<Detention>(stay.id()).unwrap();
    assert_eq!(saved.location_id, with_art.id());
    assert_eq!(saved.end, None, "still open");
    assert!(
        !at_risk(&ws.store),
        "held where ART is available: not at risk"
    );
}

/// Clicks the button `button` on the timeline row whose label contains `row`.
fn click_on_row(h: &mut Harness<'_, TetherApp>, row: &str, button: &str) {
    let y = h.get_by_label_contains(row).rect().center().y;
    h.query_all_by_label(button)
        .find(|n| (n.rect().center().y - y).abs() < 8.0)
        .unwrap_or_else(|| panic!("{button} on the row of {row}"))
        .click();
    h.run();
}

#[test]
fn an_enrollment_start_is_corrected_and_its_end_kept() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let en = store
        .create(Enrollment {
            client_id: id,
            service: Service::Methadone,
            provider: Some("NCHADS clinic".into()),
            number: None,
            start: day("2026-03-01"),
            end: Some(day("2026-10-01")),
            status: EnrollmentStatus::Completed,
            dose_mg: Some(60.0),
            regimen: None,
        })
        .unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    click_on_row(&mut h, "NCHADS clinic", "Correct");
    h.get_by_label("Correct enrollment");
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Start")
        .focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Start")
        .type_text("2026-02-15");
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Enrollment corrected");
    let saved = h
        .state()
        .workspace()
        .unwrap()
        .store
        .get::<Enrollment>(en.id())
        .unwrap();
    assert_eq!(saved.start, day("2026-02-15"));
    assert_eq!(saved.end, Some(day("2026-10-01")), "the end is kept");
    assert_eq!(saved.dose_mg, Some(60.0));
}

#[test]
fn rule_reasons_conflict_labels_field_names_and_sync_steps_are_said_in_khmer() {
    use tether::continuity::{REASON_DETENTION_VISIT, REASON_RELINK, RULE_REASONS, fill, unfill};
    use tether::store::Record as _;
    use tether::store::{RecordLabel, SyncStep};
    use tether::ui::i18n::{Lang, set_lang};
    use tether::ui::labels::{column_label, followup_reason, record_label};
    let khmer = |s: &str| s.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c));
    // The rules save their reasons in English; read back, each is said in
    // the user's language with its values, and anything else as written.
    let visit = fill(REASON_DETENTION_VISIT, &[("place", &"Prey Sar prison")]);
    assert_eq!(
        unfill(REASON_DETENTION_VISIT, &visit),
        Some(vec![("place".to_owned(), "Prey Sar prison".to_owned())])
    );
    let relink = fill(REASON_RELINK, &[("days", &7)]);
    assert_eq!(unfill(REASON_DETENTION_VISIT, &relink), None);
    set_lang(Lang::Km);
    for template in RULE_REASONS {
        assert!(tether::ui::i18n::has_khmer(template), "{template}");
    }
    let shown = followup_reason(&visit);
    assert!(
        khmer(&shown) && shown.contains("Prey Sar prison"),
        "{shown}"
    );
    let shown = followup_reason(&relink);
    assert!(khmer(&shown) && shown.contains('7'), "{shown}");
    let edited = "Visit Sokha's mother first";
    assert_eq!(followup_reason(edited), edited);
    // Every column of every record kind has a name in Khmer.
    let mut columns: Vec<&str> = Vec::new();
    columns.extend(tether::domain::Client::COLUMNS);
    columns.extend(tether::domain::Contact::COLUMNS);
    columns.extend(tether::domain::Arrest::COLUMNS);
    columns.extend(tether::domain::Detention::COLUMNS);
    columns.extend(tether::domain::Enrollment::COLUMNS);
    columns.extend(tether::domain::ServiceEvent::COLUMNS);
    columns.extend(tether::domain::FollowUp::COLUMNS);
    columns.extend(tether::domain::Location::COLUMNS);
    columns.extend(tether::domain::User::COLUMNS);
    for column in columns {
        let label = column_label(column);
        assert!(
            khmer(&label) || label == "ART", // an acronym both languages use
            "{column}: {}",
            column_label(column)
        );
    }
    // Every record kind the history names.
    for kind in [
        tether::domain::Client::KIND,
        tether::domain::Contact::KIND,
        tether::domain::Arrest::KIND,
        tether::domain::Detention::KIND,
        tether::domain::Enrollment::KIND,
        tether::domain::ServiceEvent::KIND,
        tether::domain::FollowUp::KIND,
        tether::domain::Location::KIND,
        tether::domain::User::KIND,
    ] {
        let label = tether::ui::labels::kind_label(kind);
        assert!(khmer(&label), "{kind}: {label}");
    }
    let label = RecordLabel::ServiceEvent {
        kind: Some(tether::domain::ServiceEventKind::Refill),
        client: "PP-0001".into(),
        date: "2026-11-02".into(),
    };
    assert_eq!(label.to_string(), "refill of PP-0001 on 2026-11-02");
    let shown = record_label(&label);
    assert!(khmer(&shown) && shown.contains("PP-0001"), "{shown}");
    assert_eq!(
        SyncStep::Merging { file: 2, files: 3 }.to_string(),
        "merging bundle 2 of 3"
    );
    set_lang(Lang::En);
    assert_eq!(
        record_label(&label),
        "Refill dispensed of PP-0001 on 2026-11-02"
    );
}

#[test]
fn past_midnight_by_the_store_clock_a_new_contact_takes_the_new_day() {
    use chrono::NaiveDate;
    use tether::domain::Contact;
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    // A clock a few seconds before midnight, that moves only when told.
    let evening = NaiveDate::from_ymd_opt(2026, 11, 29).unwrap();
    let clock = std::sync::Arc::new(tether::clock::ManualClock::at_local(evening, 23, 59, 50));
    h.state_mut()
        .workspace_mut()
        .unwrap()
        .store
        .set_clock(clock.clone());
    h.run();
    let form_day = |h: &Harness<'_, TetherApp>| h.state().workspace().unwrap().form_ctx.today;
    assert_eq!(form_day(&h), evening);
    clock.advance(chrono::Duration::seconds(20));
    h.run();
    let morning = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    assert_eq!(form_day(&h), morning, "forms take the new day at once");
    // A contact logged now, with the form's default date, is dated the 30th.
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("Log contact").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    let ws = h.state().workspace().unwrap();
    let contacts = ws.store.list_for_client::<Contact>(id).unwrap();
    assert!(
        contacts.iter().any(|c| c.data.date == morning),
        "{:?}",
        contacts.iter().map(|c| c.data.date).collect::<Vec<_>>()
    );
}

#[test]
fn a_follow_up_is_corrected_from_its_row_and_a_rule_follow_up_keeps_its_rule() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let f = store
        .create(FollowUp {
            client_id: id,
            worker_id: None,
            due: day("2026-12-20"),
            reason: "Bring the HIV test reslut".into(),
            rule: Some("relink".into()),
            source_id: None,
            done_on: None,
            outcome: None,
        })
        .unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    h.get_by_label("Follow-ups").click();
    h.run();
    click_on_row(&mut h, "reslut", "Correct");
    h.get_by_label("Correct follow-up");
    for (field, text) in [
        ("Reason", "Bring the HIV test result"),
        ("Due", "2026-12-22"),
    ] {
        h.get_by_role_and_label(egui::accesskit::Role::TextInput, field)
            .focus();
        h.run();
        h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
        h.get_by_role_and_label(egui::accesskit::Role::TextInput, field)
            .type_text(text);
        h.run();
    }
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Follow-up corrected");
    let ws = h.state().workspace().unwrap();
    let saved = ws.store.get::<FollowUp>(f.id()).unwrap();
    assert_eq!(saved.reason, "Bring the HIV test result");
    assert_eq!(saved.due, day("2026-12-22"));
    assert_eq!(saved.rule.as_deref(), Some("relink"), "its rule is kept");
    assert_eq!(saved.done_on, None);
}

#[test]
fn a_stay_entered_in_error_is_removed_with_the_follow_ups_the_rules_opened_for_it() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let today = store.today();
    let enrollment = store
        .create(Enrollment {
            client_id: id,
            service: Service::Art,
            provider: Some("Chey Chumneah ART clinic".into()),
            number: None,
            start: today - chrono::Duration::days(100),
            end: None,
            status: EnrollmentStatus::Active,
            dose_mg: None,
            regimen: None,
        })
        .unwrap();
    let no_art = store
        .location_by_name("Daun Penh police station")
        .unwrap()
        .unwrap();
    let stay = store
        .create(Detention {
            client_id: id,
            location_id: no_art.id(),
            start: today - chrono::Duration::days(3),
            end: None,
            basis: None,
            arrest_id: None,
            release_reason: None,
            notes: None,
        })
        .unwrap();
    let visit = |s: &Store| {
        s.list_for_client::<FollowUp>(id)
            .unwrap()
            .into_iter()
            .find(|f| f.data.source_id == Some(stay.id()))
    };
    assert!(visit(&store).is_some(), "the rules opened a visit");
    assert!(
        matches!(
            store.remove::<Detention>(stay.id(), RemovalReason::EnteredInError, false),
            Err(tether::store::StoreError::Invalid(_))
        ),
        "not without saying what goes with it"
    );
    store.close().unwrap();
    let at_risk = |s: &Store| {
        s.worklist(today, None)
            .unwrap()
            .iter()
            .any(|e| e.client_id == id && e.kind == tether::continuity::EntryKind::AtRiskDetained)
    };
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    click_on_row(&mut h, "Daun Penh police station open", "Remove…");
    h.get_by_label("Remove this detention stay?");
    h.get_by_label("1 open follow-up(s) the rules opened for this stay are removed with it");
    h.get_by_label("Remove").click();
    h.run();
    h.get_by_label("Detention stay removed; it stays in the history");
    {
        let ws = h.state().workspace().unwrap();
        assert!(ws.store.get::<Detention>(stay.id()).unwrap().meta.deleted);
        assert!(!at_risk(&ws.store), "no longer at risk");
        assert!(visit(&ws.store).is_none(), "its visit went with it");
    }
    // An enrollment entered in error goes with its events.
    let mut store = h
        .state()
        .workspace()
        .unwrap()
        .store
        .second_handle()
        .unwrap();
    store
        .create(ServiceEvent {
            enrollment_id: enrollment.id(),
            client_id: id,
            date: today - chrono::Duration::days(2),
            kind: ServiceEventKind::Refill,
            days_supplied: Some(30),
            dose_mg: None,
            cause: None,
            notes: None,
        })
        .unwrap();
    drop(store);
    click_on_row(&mut h, "Chey Chumneah ART clinic", "Remove…");
    h.get_by_label("Remove this enrollment?");
    h.get_by_label("1 dose(s), refill(s) or other event(s) of this enrollment are removed with it");
    h.get_by_label("Remove").click();
    h.run();
    h.get_by_label("Enrollment removed; it stays in the history");
    let ws = h.state().workspace().unwrap();
    assert!(
        ws.store
            .get::<Enrollment>(enrollment.id())
            .unwrap()
            .meta
            .deleted
    );
    assert!(
        ws.store
            .list_for_client::<ServiceEvent>(id)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn an_arrest_and_its_stay_logged_on_the_wrong_client_are_moved_from_their_rows() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut store = Store::open(&db.path, "admin", PASSWORD).unwrap();
    let mut arrest = Arrest::new(id, day("2026-11-02"));
    arrest.authority = Authority::MilitaryPolice;
    arrest.reasons = vec![ArrestReason::Trafficking];
    arrest.outcome = ArrestOutcome::ReleasedAfterPayment;
    let arrest = store.create(arrest).unwrap();
    let station = store
        .location_by_name("Daun Penh police station")
        .unwrap()
        .unwrap();
    let stay = store
        .create(Detention {
            client_id: id,
            location_id: station.id(),
            start: day("2026-11-02"),
            end: Some(day("2026-11-04")),
            basis: None,
            arrest_id: Some(arrest.id()),
            release_reason: Some(ReleaseReason::Released),
            notes: None,
        })
        .unwrap();
    let right = store.client_by_code("BTB-000007").unwrap().unwrap();
    store.close().unwrap();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    click_on_row(
        &mut h,
        "Military police · Trafficking · Released after payment",
        "Move…",
    );
    h.get_by_label("Move this arrest to another client?");
    type_field(&mut h, "The right client's code", "BTB-000007");
    h.get_by_label("Move").click();
    h.run();
    h.get_by_label("Arrest moved to the right client");
    click_on_row(&mut h, "Daun Penh police station until 2026-11-04", "Move…");
    h.get_by_label("Move this detention stay to another client?");
    type_field(&mut h, "The right client's code", "BTB-000007");
    h.get_by_label("Move").click();
    h.run();
    h.get_by_label("Detention stay moved to the right client");
    let ws = h.state().workspace().unwrap();
    assert_eq!(
        ws.store.get::<Arrest>(arrest.id()).unwrap().client_id,
        right.id()
    );
    assert_eq!(
        ws.store.get::<Detention>(stay.id()).unwrap().client_id,
        right.id()
    );
}

#[test]
fn undo_takes_back_an_arrest_just_recorded() {
    use tether::domain::*;
    let (db, id) = seeded();
    let mut h = unlocked(db.path.clone(), "admin");
    open_clients_and_search(&mut h, "PP-000201");
    h.get_by_label("PP-000201").click();
    h.run();
    let arrests = |h: &Harness<'_, TetherApp>| {
        h.state()
            .workspace()
            .unwrap()
            .store
            .list_for_client::<Arrest>(id)
            .unwrap()
            .len()
    };
    let before = arrests(&h);
    h.get_by_label("Record arrest").click();
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Arrest recorded");
    assert_eq!(arrests(&h), before + 1);
    h.get_by_label("Undo").click();
    h.run();
    h.get_by_label("Undone");
    assert_eq!(arrests(&h), before, "removed as entered in error");
    let history = h
        .state()
        .workspace()
        .unwrap()
        .store
        .client_history(id)
        .unwrap();
    assert_eq!(history.last().unwrap().detail, "removed: entered_in_error");
}

#[test]
fn a_contact_date_corrected_from_its_row_takes_the_client_off_the_lost_list() {
    use tether::domain::*;
    let (db, mut store) = fresh();
    let today = store.today();
    let mut c = Client::with_code("LT-0001");
    c.registered_on = Some(today - chrono::Duration::days(200));
    let c = store.create(c).unwrap();
    // Typed 120 days back instead of 12: the client looks lost to follow-up.
    let mut contact = Contact::new(
        c.id(),
        today - chrono::Duration::days(120),
        ContactKind::Street,
    );
    contact.condoms = 4;
    store.create(contact).unwrap();
    store.close().unwrap();
    let lost = |h: &Harness<'_, TetherApp>| {
        h.state()
            .workspace()
            .unwrap()
            .today
            .worklist
            .iter()
            .any(|e| {
                e.client_id == c.id() && e.kind == tether::continuity::EntryKind::LostToFollowUp
            })
    };
    let mut h = unlocked(db.path.clone(), "admin");
    settle(&mut h);
    assert!(lost(&h), "on the lost-to-follow-up list");
    open_clients_and_search(&mut h, "LT-0001");
    h.get_by_label("LT-0001").click();
    h.run();
    click_on_row(&mut h, "4 condoms", "Correct");
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Date")
        .focus();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    let right = (today - chrono::Duration::days(12)).to_string();
    h.get_by_role_and_label(egui::accesskit::Role::TextInput, "Date")
        .type_text(&right);
    h.run();
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label("Contact corrected");
    h.get_by_label("Today").click();
    settle(&mut h);
    assert!(!lost(&h), "seen 12 days ago: not lost");
}
