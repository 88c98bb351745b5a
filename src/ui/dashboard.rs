//! The manager's dashboard: caseload per worker, and four charts (contacts
//! per week, arrests per month by reason, who is detained where, re-linkage
//! after release), each with its numbers in a table beside it. Computed on
//! a worker thread with a read-only connection.

use super::i18n::{t, tf};
use super::job::{Job, Polled};
use super::labels::Labelled;
use super::widgets::*;
use super::{Action, Env};
use crate::domain::ArrestReason;
use crate::store::Reader;
use crate::store::dashboard::Dashboard;
use chrono::NaiveDate;
use egui_plot::{Bar, BarChart, Legend, Plot};

/// The dashboard screen.
#[derive(Default)]
pub struct DashboardScreen {
    pending: Option<Job<Result<Dashboard, String>>>,
    /// (data generation, day) of what is shown or on its way.
    requested: Option<(u64, NaiveDate)>,
    pub data: Option<Dashboard>,
    pub error: Option<String>,
}

const CHART_HEIGHT: f32 = 220.0;

fn month_label(m: NaiveDate) -> String {
    m.format("%Y-%m").to_string()
}

fn reason_color(r: ArrestReason) -> egui::Color32 {
    match r {
        ArrestReason::Use => egui::Color32::from_rgb(0x4e, 0x79, 0xa7),
        ArrestReason::Possession => egui::Color32::from_rgb(0xf2, 0x8e, 0x2b),
        ArrestReason::Trafficking => egui::Color32::from_rgb(0xe1, 0x57, 0x59),
        ArrestReason::Equipment => egui::Color32::from_rgb(0x76, 0xb7, 0xb2),
        ArrestReason::Sweep => egui::Color32::from_rgb(0x59, 0xa1, 0x4f),
        ArrestReason::Unknown => egui::Color32::from_rgb(0x9c, 0x9c, 0x9c),
    }
}

impl DashboardScreen {
    /// Whether a computation is under way.
    pub fn loading(&self) -> bool {
        self.pending.is_some()
    }

    /// Waits (up to `timeout`) until the background work has something
    /// to show; for tests, which would otherwise sleep.
    pub fn wait_ready(&mut self, timeout: std::time::Duration) {
        if let Some(job) = &mut self.pending {
            job.wait_ready(timeout);
        }
    }

    fn request(&mut self, reader: Option<Reader>, generation: u64, day: NaiveDate) {
        let Some(reader) = reader else {
            self.error = Some(t("Could not open a second connection to the database.").into());
            return;
        };
        self.pending = Some(Job::spawn(move |w| {
            let result = reader.dashboard(day).map_err(|e| e.to_string());
            // The connection and its pages go before the answer, so that
            // the window can give their memory back when it arrives.
            drop(reader);
            w.send(result);
        }));
        self.requested = Some((generation, day));
    }

    fn receive(&mut self) {
        let Some(job) = &mut self.pending else {
            return;
        };
        match job.poll() {
            Polled::Message(Ok(data)) => {
                self.data = Some(data);
                self.error = None;
                self.pending = None;
                crate::memory::give_back();
            }
            Polled::Message(Err(e)) => {
                self.error = Some(e);
                self.pending = None;
            }
            Polled::Pending => {}
            Polled::Finished => self.pending = None,
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui, env: &Env<'_>) -> Action {
        self.receive();
        if self.requested != Some((env.generation, env.today)) && self.pending.is_none() {
            self.request(env.store.reader().ok(), env.generation, env.today);
        }
        ui.horizontal(|ui| {
            ui.heading(t("Dashboard"));
            if self.pending.is_some() {
                ui.spinner();
                ui.label(t("Counting…"));
            } else if ui.button(t("Refresh")).clicked() {
                self.requested = None;
            }
        });
        if let Some(e) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let Some(data) = &self.data else {
            return Action::None;
        };
        ui.weak(tf("On {day}", &[("day", &data.day)]));
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                caseload_ui(ui, data);
                ui.add_space(12.0);
                contacts_ui(ui, data);
                ui.add_space(12.0);
                arrests_ui(ui, data);
                ui.add_space(12.0);
                detained_ui(ui, data);
                ui.add_space(12.0);
                relinkage_ui(ui, data);
            });
        Action::None
    }
}

fn caseload_ui(ui: &mut egui::Ui, data: &Dashboard) {
    ui.strong(t("Caseload per worker"));
    egui::Grid::new("caseload")
        .num_columns(6)
        .striped(true)
        .spacing([18.0, 4.0])
        .show(ui, |ui| {
            for h in [
                t("Worker"),
                t("Active clients"),
                t("Contacts, last 30 days"),
                t("Overdue follow-ups"),
                t("Detained now"),
                t("At risk"),
            ] {
                ui.strong(h);
            }
            ui.end_row();
            for w in &data.workers {
                if w.worker.is_none() {
                    ui.label(t("(no worker assigned)"));
                } else {
                    ui.label(&w.name);
                }
                ui.label(w.active_clients.to_string());
                ui.label(w.contacts_30_days.to_string());
                ui.label(w.overdue_followups.to_string());
                ui.label(w.detained_now.to_string());
                if w.at_risk > 0 {
                    ui.colored_label(ui.visuals().error_fg_color, w.at_risk.to_string());
                } else {
                    ui.label("0");
                }
                ui.end_row();
            }
        });
}

/// A chart on the left and its numbers on the right.
fn chart_with_table(
    ui: &mut egui::Ui,
    title: &str,
    chart: impl FnOnce(&mut egui::Ui),
    table: impl FnOnce(&mut egui::Ui),
) {
    ui.strong(title);
    ui.horizontal_top(|ui| {
        let width = (ui.available_width() - 320.0).max(300.0);
        ui.allocate_ui(egui::vec2(width, CHART_HEIGHT), chart);
        egui::ScrollArea::vertical()
            .id_salt(title)
            .max_height(CHART_HEIGHT)
            .show(ui, table);
    });
}

fn contacts_ui(ui: &mut egui::Ui, data: &Dashboard) {
    let bars: Vec<Bar> = data
        .contacts_per_week
        .iter()
        .enumerate()
        .map(|(i, (week, n))| Bar::new(i as f64, *n as f64).name(week.to_string()))
        .collect();
    let labels: Vec<String> = data
        .contacts_per_week
        .iter()
        .map(|(w, _)| w.format("%d %b").to_string())
        .collect();
    chart_with_table(
        ui,
        t("Contacts per week"),
        |ui| {
            Plot::new("contacts_per_week")
                .height(CHART_HEIGHT)
                .allow_scroll(false)
                .allow_drag(false)
                .x_axis_formatter(move |mark, _| index_label(&labels, mark.value))
                .show(ui, |p| {
                    p.bar_chart(BarChart::new(t("Contacts"), bars).color(GREEN));
                });
        },
        |ui| {
            egui::Grid::new("contacts_table")
                .striped(true)
                .show(ui, |ui| {
                    ui.strong(t("Week of"));
                    ui.strong(t("Contacts"));
                    ui.end_row();
                    for (week, n) in data.contacts_per_week.iter().rev() {
                        ui.label(week.to_string());
                        ui.label(n.to_string());
                        ui.end_row();
                    }
                });
        },
    );
}

fn index_label(labels: &[String], value: f64) -> String {
    let i = value.round();
    if (value - i).abs() > 0.01 || i < 0.0 {
        return String::new();
    }
    labels.get(i as usize).cloned().unwrap_or_default()
}

fn arrests_ui(ui: &mut egui::Ui, data: &Dashboard) {
    let labels: Vec<String> = data
        .arrests_per_month
        .iter()
        .map(|(m, _)| month_label(*m))
        .collect();
    let mut charts: Vec<BarChart> = Vec::new();
    for reason in ArrestReason::ALL {
        let bars: Vec<Bar> = data
            .arrests_per_month
            .iter()
            .enumerate()
            .map(|(i, (_, by))| Bar::new(i as f64, by.get(reason).copied().unwrap_or(0) as f64))
            .collect();
        let refs: Vec<&BarChart> = charts.iter().collect();
        let chart = BarChart::new(reason.label(), bars)
            .color(reason_color(*reason))
            .stack_on(&refs);
        charts.push(chart);
    }
    chart_with_table(
        ui,
        t("Arrests per month, by reason"),
        |ui| {
            Plot::new("arrests_per_month")
                .height(CHART_HEIGHT)
                .legend(Legend::default())
                .allow_scroll(false)
                .allow_drag(false)
                .x_axis_formatter(move |mark, _| index_label(&labels, mark.value))
                .show(ui, |p| {
                    for c in charts {
                        p.bar_chart(c);
                    }
                });
        },
        |ui| {
            egui::Grid::new("arrests_table")
                .striped(true)
                .show(ui, |ui| {
                    ui.strong(t("Month"));
                    for r in ArrestReason::ALL {
                        ui.strong(r.label());
                    }
                    ui.end_row();
                    for (m, by) in data.arrests_per_month.iter().rev() {
                        ui.label(month_label(*m));
                        for r in ArrestReason::ALL {
                            ui.label(by.get(r).copied().unwrap_or(0).to_string());
                        }
                        ui.end_row();
                    }
                });
        },
    );
    ui.weak(t("An arrest with several reasons counts under each."));
}

fn detained_ui(ui: &mut egui::Ui, data: &Dashboard) {
    let shown: Vec<&(String, i64)> = data.detained_by_location.iter().take(15).collect();
    let names: Vec<String> = shown.iter().map(|(l, _)| l.clone()).collect();
    let bars: Vec<Bar> = shown
        .iter()
        .enumerate()
        .map(|(i, (l, n))| Bar::new(i as f64, *n as f64).name(l))
        .collect();
    chart_with_table(
        ui,
        t("Clients detained now, by location"),
        |ui| {
            Plot::new("detained_by_location")
                .height(CHART_HEIGHT)
                .allow_scroll(false)
                .allow_drag(false)
                .y_axis_formatter(move |mark, _| index_label(&names, mark.value))
                .y_axis_min_width(160.0)
                .show(ui, |p| {
                    p.bar_chart(
                        BarChart::new(t("Detained"), bars)
                            .horizontal()
                            .color(egui::Color32::from_rgb(0xe1, 0x57, 0x59)),
                    );
                });
        },
        |ui| {
            egui::Grid::new("detained_table")
                .striped(true)
                .show(ui, |ui| {
                    ui.strong(t("Location"));
                    ui.strong(t("Detained"));
                    ui.end_row();
                    for (l, n) in &data.detained_by_location {
                        ui.label(l);
                        ui.label(n.to_string());
                        ui.end_row();
                    }
                });
        },
    );
}

fn relinkage_ui(ui: &mut egui::Ui, data: &Dashboard) {
    let labels: Vec<String> = data
        .relinkage
        .iter()
        .map(|r| month_label(r.month))
        .collect();
    let relinked: Vec<Bar> = data
        .relinkage
        .iter()
        .enumerate()
        .map(|(i, r)| Bar::new(i as f64, r.relinked as f64))
        .collect();
    let not: Vec<Bar> = data
        .relinkage
        .iter()
        .enumerate()
        .map(|(i, r)| Bar::new(i as f64, (r.needing - r.relinked) as f64))
        .collect();
    let relinked = BarChart::new(t("Re-linked within 7 days"), relinked).color(GREEN);
    let not = BarChart::new(t("Not re-linked"), not)
        .color(egui::Color32::from_rgb(0xf2, 0x8e, 0x2b))
        .stack_on(&[&relinked]);
    chart_with_table(
        ui,
        t("Re-linkage after release (clients on methadone or ART)"),
        |ui| {
            Plot::new("relinkage")
                .height(CHART_HEIGHT)
                .legend(Legend::default())
                .allow_scroll(false)
                .allow_drag(false)
                .x_axis_formatter(move |mark, _| index_label(&labels, mark.value))
                .show(ui, |p| {
                    p.bar_chart(relinked);
                    p.bar_chart(not);
                });
        },
        |ui| {
            egui::Grid::new("relinkage_table")
                .striped(true)
                .show(ui, |ui| {
                    ui.strong(t("Month"));
                    ui.strong(t("Releases"));
                    ui.strong(t("Re-linked"));
                    ui.strong("%");
                    ui.end_row();
                    for r in data.relinkage.iter().rev() {
                        ui.label(month_label(r.month));
                        ui.label(r.needing.to_string());
                        ui.label(r.relinked.to_string());
                        if r.needing > 0 {
                            ui.label(format!(
                                "{:.0}",
                                100.0 * r.relinked as f64 / r.needing as f64
                            ));
                        } else {
                            ui.label("–");
                        }
                        ui.end_row();
                    }
                });
        },
    );
}
