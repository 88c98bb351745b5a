//! The profile's tabs: the timeline, the history, the details and the
//! follow-ups.

use super::*;

impl ProfileScreen {
    pub(super) fn timeline_ui(&self, ui: &mut egui::Ui, env: &Env<'_>) -> Option<RowAction> {
        let mut picked = None;
        if self.timeline.is_empty() {
            ui.label(t(
                "Nothing recorded yet. Log a contact to start the timeline.",
            ));
            return None;
        }
        let worker_name = |id: Option<Uuid>| {
            id.and_then(|w| env.forms.workers.iter().find(|x| x.0 == w))
                .map(|w| w.1.clone())
                .unwrap_or_default()
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, 22.0, self.timeline.len(), |ui, range| {
                for entry in &self.timeline[range] {
                    ui.horizontal(|ui| {
                        ui.monospace(entry.date.to_string());
                        match &entry.item {
                            TimelineItem::Contact(c) => {
                                ui.colored_label(BLUE, c.kind.label());
                                let mut parts = Vec::new();
                                if c.needles_syringes > 0 {
                                    parts.push(tf("{n} needles", &[("n", &c.needles_syringes)]));
                                }
                                if c.condoms > 0 {
                                    parts.push(tf("{n} condoms", &[("n", &c.condoms)]));
                                }
                                if c.naloxone > 0 {
                                    parts.push(tf("{n} naloxone", &[("n", &c.naloxone)]));
                                }
                                if c.hiv_test != HivTest::None {
                                    parts.push(c.hiv_test.label().to_owned());
                                }
                                for r in &c.referrals {
                                    parts.push(tf("referred to {x}", &[("x", &r.label())]));
                                }
                                ui.label(parts.join(", "));
                                ui.weak(worker_name(c.worker_id));
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::Correct(c.id(), c.data.clone()));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Contact(c.id())));
                                }
                                if ui.small_button(t("Move…")).clicked() {
                                    picked = Some(RowAction::Move(Movable::Contact(c.id())));
                                }
                            }
                            TimelineItem::Arrest(a) => {
                                ui.colored_label(RED, t("Arrest"));
                                let reasons: Vec<&str> =
                                    a.reasons.iter().map(|r| r.label()).collect();
                                ui.label(format!(
                                    "{} · {} · {}",
                                    a.authority.label(),
                                    reasons.join(", "),
                                    a.outcome.label()
                                ));
                                if !a.abuse.is_empty() {
                                    let abuse: Vec<&str> =
                                        a.abuse.iter().map(|r| r.label()).collect();
                                    ui.colored_label(ORANGE, abuse.join(", "));
                                }
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::CorrectArrest(a.id(), a.data.clone()));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Arrest(a.id())));
                                }
                                if ui.small_button(t("Move…")).clicked() {
                                    picked = Some(RowAction::Move(Movable::Arrest(a.id())));
                                }
                            }
                            TimelineItem::Detention {
                                detention,
                                location,
                            } => {
                                ui.colored_label(RED, t("Detention"));
                                let end = match (detention.end, detention.release_reason) {
                                    (Some(e), Some(r)) => tf(
                                        "until {date} ({reason})",
                                        &[("date", &e), ("reason", &r.label())],
                                    ),
                                    _ => t("open").to_owned(),
                                };
                                ui.label(format!("{location} {end}"));
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::CorrectStay(
                                        detention.id(),
                                        detention.data.clone(),
                                    ));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked =
                                        Some(RowAction::Remove(Removable::Stay(detention.id())));
                                }
                                if ui.small_button(t("Move…")).clicked() {
                                    picked = Some(RowAction::Move(Movable::Stay(detention.id())));
                                }
                            }
                            TimelineItem::Enrollment(e) => {
                                ui.colored_label(
                                    GREEN,
                                    tf("Enrolled: {service}", &[("service", &e.service.label())]),
                                );
                                ui.label(format!(
                                    "{} {}",
                                    e.provider.as_deref().unwrap_or(""),
                                    e.status.label()
                                ));
                                if ui.small_button(t("Correct")).clicked() {
                                    picked =
                                        Some(RowAction::CorrectEnrollment(e.id(), e.data.clone()));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Enrollment(e.id())));
                                }
                            }
                            TimelineItem::ServiceEvent { event, service } => {
                                ui.colored_label(GREEN, service.label());
                                let mut text = event.kind.label().to_owned();
                                if let Some(d) = event.days_supplied {
                                    text.push_str(&format!(" · {}", tf("{n} days", &[("n", &d)])));
                                }
                                if let Some(mg) = event.dose_mg {
                                    text.push_str(&format!(" · {mg} mg"));
                                }
                                if let Some(c) = event.cause {
                                    text.push_str(&format!(" · {}", c.label()));
                                }
                                ui.label(text);
                                if ui.small_button(t("Correct")).clicked() {
                                    picked = Some(RowAction::CorrectEvent(
                                        event.id(),
                                        event.data.clone(),
                                    ));
                                }
                                if ui.small_button(t("Remove…")).clicked() {
                                    picked = Some(RowAction::Remove(Removable::Event(event.id())));
                                }
                            }
                            TimelineItem::FollowUp(f) => {
                                ui.colored_label(ORANGE, t("Follow-up"));
                                ui.label(followup_reason(&f.reason));
                                if let Some(done) = f.done_on {
                                    ui.weak(tf("done {date}", &[("date", &done)]));
                                }
                            }
                        }
                    });
                }
            });
        picked
    }

    /// Who did what to this client's records, when and on which laptop:
    /// the audit log's field names, never values.
    pub(super) fn history_ui(&self, ui: &mut egui::Ui) {
        if self.history.is_empty() {
            ui.weak(t("Nothing in the history yet."));
            return;
        }
        let action = |a: AuditAction| match a {
            AuditAction::Create => t("created"),
            AuditAction::Update => t("changed"),
            AuditAction::Delete => t("removed"),
            _ => a.as_str(),
        };
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show_rows(ui, 22.0, self.history.len(), |ui, range| {
                for e in &self.history[range] {
                    ui.horizontal(|ui| {
                        ui.monospace(
                            e.at.with_timezone(&chrono::Local)
                                .format("%Y-%m-%d %H:%M")
                                .to_string(),
                        );
                        ui.add_sized([70.0, 18.0], egui::Label::new(action(e.action)));
                        ui.add_sized(
                            [90.0, 18.0],
                            egui::Label::new(kind_label(e.record_kind.as_deref().unwrap_or(""))),
                        );
                        let who = e
                            .user_id
                            .and_then(|u| self.usernames.get(&u).cloned())
                            .unwrap_or_else(|| t("another laptop").to_owned());
                        ui.add_sized([110.0, 18.0], egui::Label::new(who).truncate());
                        ui.weak(tf("laptop {id}", &[("id", &short_id(&e.device_id))]));
                        ui.label(history_detail(&e.detail));
                    });
                }
            });
    }

    pub(super) fn details_ui(&self, ui: &mut egui::Ui, env: &Env<'_>) {
        let c = &self.client;
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
        let date = |v: Option<NaiveDate>| v.map(|d| d.to_string()).unwrap_or_else(|| "—".into());
        egui::Grid::new("details")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                let rows: Vec<(&str, String)> = vec![
                    (t("Client code"), c.code.clone()),
                    (
                        t("Nickname"),
                        if env.hide_names {
                            HIDDEN.into()
                        } else {
                            opt(&c.nickname)
                        },
                    ),
                    (
                        t("Name (optional, sensitive)"),
                        if env.hide_names {
                            HIDDEN.into()
                        } else {
                            opt(&c.name)
                        },
                    ),
                    (t("Sex"), c.sex.label().into()),
                    (
                        t("Birth year"),
                        c.birth_year
                            .map(|y| y.to_string())
                            .unwrap_or_else(|| "—".into()),
                    ),
                    (
                        t("Phone"),
                        if env.hide_names {
                            HIDDEN.into()
                        } else {
                            opt(&c.phone)
                        },
                    ),
                    (t("Province"), opt(&c.province)),
                    (t("District"), opt(&c.district)),
                    (
                        t("Key populations"),
                        c.key_populations
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    (
                        t("Substances"),
                        c.substances
                            .iter()
                            .map(|k| k.label())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    (t("HIV status"), c.hiv_status.label().into()),
                    (t("Last HIV test"), date(c.hiv_last_test)),
                    (t("Consent date"), date(c.consent_date)),
                    (t("Registered on"), date(c.registered_on)),
                    (t("Case status"), self.case_status(c.status).label().into()),
                ];
                for (k, v) in rows {
                    ui.label(k);
                    ui.label(v);
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
        ui.strong(t("Services"));
        for e in &self.enrollments {
            let active = if e.active_on(env.today) {
                t("active")
            } else {
                t("ended")
            };
            ui.label(format!(
                "{} · {} · {} {} · {active}",
                e.service.label(),
                e.provider.as_deref().unwrap_or(""),
                t("since"),
                e.start
            ));
        }
    }

    pub(super) fn followups_ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) {
        if self.followups.is_empty() {
            ui.label(t("No follow-ups."));
        }
        let mut close: Option<Saved<FollowUp>> = None;
        let mut correct: Option<Saved<FollowUp>> = None;
        for f in &self.followups {
            ui.horizontal(|ui| {
                ui.monospace(f.due.to_string());
                ui.label(followup_reason(&f.reason));
                if ui.small_button(t("Correct")).clicked() {
                    correct = Some(f.clone());
                }
                match f.done_on {
                    Some(d) => {
                        ui.weak(tf("done {date}", &[("date", &d)]));
                        ui.weak(f.outcome.clone().unwrap_or_default());
                    }
                    None => {
                        if f.due < env.today {
                            ui.colored_label(ORANGE, t("Overdue"));
                        }
                        if ui.button(t("Close")).clicked() {
                            close = Some(f.clone());
                        }
                    }
                }
            });
        }
        if let Some(f) = close {
            self.form = Some(OpenForm::CloseFollowUp(CloseFollowUpForm {
                id: f.id(),
                followup: f.data,
                done_on: env.today.to_string(),
                outcome: String::new(),
            }));
        }
        if let Some(f) = correct {
            self.form = Some(OpenForm::FollowUp(FollowUpForm::correcting(
                f.id(),
                &f.data,
            )));
            self.form_error = None;
        }
    }
}

/// The first eight characters of a laptop's id, enough to tell laptops apart.
fn short_id(id: &str) -> String {
    id.chars().take(8).collect()
}

/// An audit detail in the UI language: a removal's reason by its label;
/// field names as they are (they name columns, not words).
fn history_detail(detail: &str) -> String {
    match detail
        .strip_prefix("removed: ")
        .and_then(RemovalReason::parse)
    {
        Some(reason) => tf("removed: {reason}", &[("reason", &reason.label())]),
        None => detail.to_owned(),
    }
}
