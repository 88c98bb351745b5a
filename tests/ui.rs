//! The real window, driven through egui_kittest against real encrypted files.

mod common;

use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::PathBuf;
use tether::store::Store;
use tether::ui::{Session, TetherApp};

fn harness(path: PathBuf, user: &str) -> Harness<'static, TetherApp> {
    let user = user.to_owned();
    Harness::builder()
        .with_size(egui::vec2(1100.0, 720.0))
        .build_eframe(move |cc| TetherApp::new(cc, Some(path), Some(user)))
}

fn type_into(h: &mut Harness<'_, TetherApp>, label: &str, text: &str) {
    h.get_by_label(label).focus();
    h.run();
    h.get_by_label(label).type_text(text);
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
    assert_eq!(log[0].action, tether::domain::AuditAction::Login);
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
