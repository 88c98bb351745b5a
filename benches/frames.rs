//! CPU time per frame of the Clients screen on the 100,000-client demo
//! database, in a headless egui context (no GPU): while scrolling the
//! table, and while typing a search.

#[path = "common/mod.rs"]
mod common;

use common::{PASSWORD, bench_db};
use criterion::{Criterion, criterion_group, criterion_main};
use egui::{Event, Modifiers, MouseWheelUnit, Pos2, RawInput, Rect, TouchPhase, vec2};
use tether::store::Store;
use tether::ui::clients::ClientsScreen;
use tether::ui::forms::FormCtx;
use tether::ui::{Env, fonts};

fn input(events: Vec<Event>) -> RawInput {
    RawInput {
        screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1200.0, 760.0))),
        events,
        ..Default::default()
    }
}

fn frames(c: &mut Criterion) {
    let path = bench_db();
    let store = Store::open(&path, "admin", PASSWORD).expect("open");
    let today = tether::store::today();
    let forms = FormCtx {
        today,
        ..Default::default()
    };
    let ctx = egui::Context::default();
    fonts::install(&ctx);
    let mut screen = ClientsScreen::new(&store);
    let frame = |screen: &mut ClientsScreen, events: Vec<Event>| {
        let env = Env {
            store: &store,
            today,
            hide_names: false,
            generation: 1,
            forms: &forms,
        };
        ctx.run_ui(input(events), |ui| {
            egui::CentralPanel::default_margins().show(ui, |ui| {
                let _ = screen.ui(ui, &env);
            });
        })
    };
    // First frames: load the 100,000 ids once, lay out, focus the search box.
    for _ in 0..3 {
        frame(
            &mut screen,
            vec![Event::PointerMoved(Pos2::new(600.0, 400.0))],
        );
    }
    while screen.searching() {
        std::thread::sleep(std::time::Duration::from_millis(5));
        frame(&mut screen, vec![]);
    }
    assert_eq!(
        screen.rids.len(),
        store.count_live("clients").expect("count") as usize
    );

    let mut down = true;
    let mut n = 0u32;
    c.bench_function("clients_frame_scrolling", |b| {
        b.iter(|| {
            n += 1;
            if n.is_multiple_of(400) {
                down = !down;
            }
            let dy = if down { -120.0 } else { 120.0 };
            frame(
                &mut screen,
                vec![
                    Event::PointerMoved(Pos2::new(600.0, 400.0)),
                    Event::MouseWheel {
                        unit: MouseWheelUnit::Point,
                        delta: vec2(0.0, dy),
                        phase: TouchPhase::Move,
                        source: egui::MouseWheelSource::Wheel,
                        modifiers: Modifiers::NONE,
                    },
                ],
            )
        })
    });

    // Typing: each frame adds or removes one character of a search.
    let keys = ["P", "P", "-", "0", "1", "2"];
    let mut i = 0usize;
    c.bench_function("clients_frame_typing", |b| {
        b.iter(|| {
            let step = i % (keys.len() * 2);
            i += 1;
            let event = if step < keys.len() {
                Event::Text(keys[step].to_owned())
            } else {
                Event::Key {
                    key: egui::Key::Backspace,
                    physical_key: None,
                    pressed: true,
                    repeat: false,
                    modifiers: Modifiers::NONE,
                }
            };
            frame(&mut screen, vec![event])
        })
    });
    eprintln!("queries run while typing: {}", screen.queries);
}

criterion_group!(frame_benches, frames);
criterion_main!(frame_benches);
