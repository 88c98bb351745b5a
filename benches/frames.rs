//! CPU time per frame on the 100,000-client demo database, in a headless
//! egui context (no GPU): the Clients screen while scrolling the table and
//! while typing a search; Today (everyone's lists), the profile of the
//! client with the longest timeline, the dashboard, the locations and the
//! sync review while the pointer moves and the wheel scrolls. Each frame
//! also counts the statements the store runs while drawing (none, once a
//! screen has loaded).

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
    drop(screen);

    // The other screens: loaded first (off-thread work included), then
    // frames that move the pointer and scroll, as a user reading them.
    let wheel = |n: u32| {
        let dy = if (n / 200).is_multiple_of(2) {
            -60.0
        } else {
            60.0
        };
        vec![
            Event::PointerMoved(Pos2::new(300.0 + (n % 50) as f32 * 8.0, 300.0)),
            Event::MouseWheel {
                unit: MouseWheelUnit::Point,
                delta: vec2(0.0, dy),
                phase: TouchPhase::Move,
                source: egui::MouseWheelSource::Wheel,
                modifiers: Modifiers::NONE,
            },
        ]
    };
    store.trace_statements();
    let env = Env {
        store: &store,
        today,
        hide_names: false,
        generation: 1,
        forms: &forms,
    };
    let run = |name: &str,
               c: &mut Criterion,
               draw: &mut dyn FnMut(&mut egui::Ui, &Env<'_>),
               ready: &dyn Fn() -> bool| {
        let ctx = egui::Context::default();
        fonts::install(&ctx);
        let frame = |events: Vec<Event>, draw: &mut dyn FnMut(&mut egui::Ui, &Env<'_>)| {
            ctx.run_ui(input(events), |ui| {
                egui::CentralPanel::default_margins().show(ui, |ui| draw(ui, &env));
            })
        };
        let started = std::time::Instant::now();
        frame(vec![], draw);
        while !ready() && started.elapsed().as_secs() < 120 {
            std::thread::sleep(std::time::Duration::from_millis(5));
            frame(vec![], draw);
        }
        for _ in 0..3 {
            frame(vec![], draw);
        }
        let before = store.statements_run();
        let mut n = 0u32;
        c.bench_function(name, |b| {
            b.iter(|| {
                n += 1;
                frame(wheel(n), draw)
            })
        });
        eprintln!(
            "{name}: statements run while drawing: {}",
            store.statements_run() - before
        );
    };

    let today_screen = std::cell::RefCell::new(tether::ui::today::TodayScreen::new(&store));
    today_screen.borrow_mut().scope = tether::ui::today::Scope::Everyone;
    run(
        "today_frame",
        c,
        &mut |ui, env| {
            let _ = today_screen.borrow_mut().ui(ui, env);
        },
        &|| !today_screen.borrow().computing(),
    );
    eprintln!("today entries: {}", today_screen.borrow().worklist.len());
    drop(today_screen);

    // The client with the longest timeline among the first thousand.
    let longest = store
        .search_clients("", 1000)
        .expect("clients")
        .rows
        .into_iter()
        .map(|r| (store.timeline(r.id).expect("timeline").len(), r.id))
        .max()
        .expect("a client");
    eprintln!("profile: a timeline of {} entries", longest.0);
    let mut profile = tether::ui::profile::ProfileScreen::open(&store, longest.1, &forms, today)
        .expect("profile");
    run(
        "profile_frame_longest_timeline",
        c,
        &mut |ui, env| {
            let _ = profile.ui(ui, env);
        },
        &|| true,
    );

    let dashboard = std::cell::RefCell::new(tether::ui::dashboard::DashboardScreen::default());
    run(
        "dashboard_frame",
        c,
        &mut |ui, env| {
            let _ = dashboard.borrow_mut().ui(ui, env);
        },
        &|| dashboard.borrow().data.is_some(),
    );

    let mut locations = tether::ui::locations::LocationsScreen::default();
    run(
        "locations_frame",
        c,
        &mut |ui, env| {
            let _ = locations.ui(ui, env);
        },
        &|| true,
    );

    let mut review = tether::ui::sync::ReviewScreen::default();
    run(
        "sync_review_frame",
        c,
        &mut |ui, env| {
            let _ = review.ui(ui, env);
        },
        &|| true,
    );
}

criterion_group!(frame_benches, frames);
criterion_main!(frame_benches);
