//! Sync review: the conflicts two laptops made, and clients registered
//! twice, for a coordinator to settle.

use super::*;

/// Review after sync: conflicts and probable duplicate clients.
pub struct ReviewScreen {
    loaded: Option<u64>,
    conflicts: Result<Vec<Conflict>, String>,
    duplicates: Result<Vec<Vec<DuplicateClient>>, String>,

    selected: Option<i64>,
    /// Fields of the selected conflict to take from the other version.
    take: BTreeSet<String>,
    /// A merge waiting for its confirmation: keep this client, absorb those.
    confirm_merge: Option<(DuplicateClient, Vec<DuplicateClient>)>,
}

impl Default for ReviewScreen {
    fn default() -> Self {
        ReviewScreen {
            loaded: None,
            conflicts: Ok(Vec::new()),
            duplicates: Ok(Vec::new()),
            selected: None,
            take: BTreeSet::new(),
            confirm_merge: None,
        }
    }
}

impl ReviewScreen {
    fn load(&mut self, env: &Env<'_>) {
        if self.loaded == Some(env.generation) {
            return;
        }
        self.loaded = Some(env.generation);
        self.conflicts = env.store.conflicts(false).map_err(|e| e.to_string());
        self.duplicates = env.store.probable_duplicates().map_err(|e| e.to_string());
        let still_there = self
            .conflicts
            .as_ref()
            .ok()
            .is_some_and(|cs| cs.iter().any(|c| Some(c.id) == self.selected));
        if !still_there {
            self.selected = self
                .conflicts
                .as_ref()
                .ok()
                .and_then(|cs| cs.first())
                .map(|c| c.id);
            self.take.clear();
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        self.load(env);
        let mut action = Action::None;
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.heading(t("Sync review"));
                ui.label(t("A conflict is a record changed on two laptops before they synced. Tether kept the later change and saved the other one here: keep either, or take some fields of the other."));
                ui.add_space(6.0);
                action = self.conflicts_ui(ui, env);
                ui.add_space(16.0);
                let merge = self.duplicates_ui(ui, env);
                if merge != Action::None {
                    action = merge;
                }
            });
        action
    }

    fn conflicts_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        let conflicts = match &self.conflicts {
            Ok(c) => c,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return action;
            }
        };
        ui.strong(tf("Conflicts to review: {n}", &[("n", &conflicts.len())]));
        if conflicts.is_empty() {
            ui.weak(t("No conflicts."));
            return action;
        }
        egui::Grid::new("conflicts")
            .num_columns(3)
            .striped(true)
            .spacing([16.0, 4.0])
            .show(ui, |ui| {
                for c in conflicts {
                    let selected = self.selected == Some(c.id);
                    if ui
                        .selectable_label(selected, record_label(&c.label))
                        .clicked()
                        && !selected
                    {
                        self.selected = Some(c.id);
                        self.take.clear();
                    }
                    ui.label(tf("{n} fields differ", &[("n", &c.fields.len())]));
                    ui.weak(
                        c.found_at
                            .with_timezone(&chrono::Local)
                            .format("%Y-%m-%d %H:%M")
                            .to_string(),
                    );
                    ui.end_row();
                }
            });
        let Some(c) = conflicts.iter().find(|c| Some(c.id) == self.selected) else {
            return action;
        };
        ui.add_space(8.0);
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.strong(record_label(&c.label));
            let when = |at: &chrono::DateTime<chrono::Utc>| {
                at.with_timezone(&chrono::Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            };
            let laptop = |device: &str| {
                if device == env.store.device_id() {
                    t("this laptop").to_owned()
                } else {
                    tf("laptop {device}", &[("device", &short(device))])
                }
            };
            ui.label(tf(
                "Kept: changed {when} on {laptop}",
                &[
                    ("when", &when(&c.current_changed_at)),
                    ("laptop", &laptop(&c.current_device)),
                ],
            ));
            ui.label(tf(
                "Other: changed {when} on {laptop}",
                &[
                    ("when", &when(&c.other_changed_at)),
                    ("laptop", &laptop(&c.other_device)),
                ],
            ));
            ui.add_space(4.0);
            egui::Grid::new("conflict_fields")
                .num_columns(4)
                .striped(true)
                .spacing([16.0, 4.0])
                .show(ui, |ui| {
                    ui.strong(t("Field"));
                    ui.strong(t("Kept version"));
                    ui.strong(t("Other version"));
                    ui.strong(t("Take other"));
                    ui.end_row();
                    for f in &c.fields {
                        let sensitive = matches!(f.field.as_str(), "name" | "nickname" | "phone");
                        let show = |v: &str| {
                            if sensitive && env.hide_names {
                                "•••".to_owned()
                            } else {
                                v.to_owned()
                            }
                        };
                        let name = ui.label(column_label(&f.field));
                        ui.label(show(&f.current));
                        ui.label(show(&f.other));
                        let mut on = self.take.contains(&f.field);
                        if ui
                            .checkbox(&mut on, "")
                            .labelled_by(name.id)
                            .on_hover_text(tf(
                                "Take the other {field}",
                                &[("field", &column_label(&f.field))],
                            ))
                            .changed()
                        {
                            if on {
                                self.take.insert(f.field.clone());
                            } else {
                                self.take.remove(&f.field);
                            }
                        }
                        ui.end_row();
                    }
                });
            ui.add_space(6.0);
            ui.horizontal(|ui| {
                if ui.button(t("Keep the kept version")).clicked() {
                    action = Action::Write(Write::ResolveConflict(c.id, Resolution::KeepCurrent));
                }
                if ui.button(t("Keep the other version")).clicked() {
                    action = Action::Write(Write::ResolveConflict(c.id, Resolution::KeepOther));
                }
                if ui
                    .add_enabled(
                        !self.take.is_empty(),
                        egui::Button::new(t("Save with the ticked fields")),
                    )
                    .clicked()
                {
                    action = Action::Write(Write::ResolveConflict(
                        c.id,
                        Resolution::TakeFields(self.take.iter().cloned().collect()),
                    ));
                }
            });
        });
        action
    }

    fn duplicates_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        let mut action = Action::None;
        ui.heading(t("Probable duplicate clients"));
        ui.label(t("The same client code registered on two laptops. Merging keeps one client and moves every contact, arrest, stay, enrollment and follow-up of the others to it."));
        let groups = match &self.duplicates {
            Ok(g) => g,
            Err(e) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
                return action;
            }
        };
        if groups.is_empty() {
            ui.weak(t("No duplicate codes."));
        }
        for (g, group) in groups.iter().enumerate() {
            ui.add_space(6.0);
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.strong(&group[0].code);
                egui::Grid::new(("dup", g))
                    .num_columns(5)
                    .spacing([16.0, 4.0])
                    .show(ui, |ui| {
                        ui.strong(t("Nickname"));
                        ui.strong(t("Registered"));
                        ui.strong(t("Records"));
                        ui.strong(t("Laptop"));
                        ui.label("");
                        ui.end_row();
                        for c in group {
                            let nick = match (&c.nickname, env.hide_names) {
                                (Some(_), true) => "•••".to_owned(),
                                (Some(n), false) => n.clone(),
                                (None, _) => "—".to_owned(),
                            };
                            ui.label(nick);
                            ui.label(
                                c.registered_on
                                    .map_or_else(|| "—".to_owned(), |d| d.to_string()),
                            );
                            ui.label(c.records.to_string());
                            ui.monospace(short(&c.device_id));
                            if ui.button(t("Keep this one")).clicked() {
                                let others =
                                    group.iter().filter(|o| o.id != c.id).cloned().collect();
                                self.confirm_merge = Some((c.clone(), others));
                            }
                            ui.end_row();
                        }
                    });
            });
        }
        if let Some((keep, others)) = self.confirm_merge.clone() {
            let mut close = false;
            egui::Window::new(t("Merge clients"))
                .collapsible(false)
                .resizable(false)
                .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
                .show(ui.ctx(), |ui| {
                    let moving: i64 = others.iter().map(|o| o.records).sum();
                    ui.label(tf(
                        "Keep client {code} registered on {day} and move {n} records of the other {m} to it? The others are then deleted. This is recorded in the audit log.",
                        &[
                            ("code", &keep.code),
                            ("day", &keep.registered_on.map_or_else(|| "—".to_owned(), |d| d.to_string())),
                            ("n", &moving),
                            ("m", &others.len()),
                        ],
                    ));
                    ui.horizontal(|ui| {
                        if ui.button(t("Merge")).clicked() {
                            action = Action::Write(Write::MergeClients(
                                keep.id,
                                others.iter().map(|o| o.id).collect::<Vec<Uuid>>(),
                            ));
                            close = true;
                        }
                        if ui.button(t("Cancel")).clicked()
                            || ui.input(|i| i.key_pressed(egui::Key::Escape))
                        {
                            close = true;
                        }
                    });
                });
            if close {
                self.confirm_merge = None;
            }
        }
        action
    }
}
