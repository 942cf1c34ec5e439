//! `LogWriter` with the logging libraries it is for: `log` + `env_logger`
//! (always) and `tracing` + `tracing_subscriber` (feature `tracing`):
//! each event one record, an event over `max_record` cut with a marker
//! instead of dropped.

use std::io::Write;

use ringbuf_core::{Ring, Start};

fn records(ring: &Ring) -> Vec<Vec<u8>> {
    let mut rd = ring.reader(Start::Oldest).unwrap();
    std::iter::from_fn(|| rd.try_next().ok()).map(|r| r.data).collect()
}

#[test]
fn short_writes_are_records_as_they_are() {
    let ring = Ring::new(4096).unwrap();
    let mut w = ring.log_writer();
    w.write_all(b"one\n").unwrap();
    assert_eq!(w.write(b"").unwrap(), 0); // (write_all of nothing calls no write)
    (&w).write_all(b"three").unwrap();
    assert_eq!(records(&ring), vec![b"one\n".to_vec(), vec![], b"three".to_vec()]);
}

#[test]
fn a_record_over_max_record_is_cut_with_a_marker_in_one_record() {
    let ring = Ring::new(4096).unwrap();
    let max = ring.max_record();
    let mut w = ring.log_writer();
    let long: Vec<u8> = (0..3 * max).map(|i| b'a' + (i % 26) as u8).chain(*b"\n").collect();
    w.write_all(&long).unwrap();
    let recs = records(&ring);
    assert_eq!(recs.len(), 1, "write_all must not split an event into records");
    let rec = &recs[0];
    assert!(rec.len() <= max);
    let text = String::from_utf8(rec.clone()).unwrap();
    let (kept, marker) = text.split_once('\u{2026}').unwrap();
    assert!(long.starts_with(kept.as_bytes()));
    assert_eq!(marker, format!("[truncated {} bytes]\n", long.len() - kept.len()));
    assert!(kept.len() > max / 2, "keeps most of the record: {} of {max}", kept.len());
}

#[test]
fn the_cut_falls_on_a_character_boundary() {
    let ring = Ring::new(4096).unwrap();
    let w = ring.log_writer();
    for shift in 0..4 {
        let text = format!("{}{}", "x".repeat(shift), "\u{1F600}".repeat(ring.max_record()));
        w.write_record(text.as_bytes()).unwrap();
    }
    for rec in records(&ring) {
        let s = String::from_utf8(rec).expect("cut inside a character");
        assert!(s.ends_with(" bytes]"));
    }
}

#[test]
fn env_logger_pipe_target_writes_one_record_per_event() {
    let ring = Ring::new(1 << 16).unwrap();
    let logger = env_logger::Builder::new()
        .filter_level(log::LevelFilter::Info)
        .format_timestamp(None)
        .target(env_logger::Target::Pipe(Box::new(ring.log_writer())))
        .build();
    let record = |msg: &str| {
        log::Log::log(
            &logger,
            &log::Record::builder().level(log::Level::Warn).target("app").args(format_args!("{msg}")).build(),
        )
    };
    record("disk almost full");
    record(&"y".repeat(ring.max_record() * 2));
    log::Log::flush(&logger);
    let recs = records(&ring);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0], b"[WARN  app] disk almost full\n");
    let long = String::from_utf8(recs[1].clone()).unwrap();
    assert!(long.starts_with("[WARN  app] yyy") && long.ends_with(" bytes]\n"), "{}", &long[long.len() - 40..]);
}

#[cfg(feature = "tracing")]
#[test]
fn tracing_fmt_with_writer_writes_one_record_per_event() {
    let ring = Ring::new(1 << 16).unwrap();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(ring.log_writer())
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(user = "ada", "logged in");
        tracing::error!(payload = %"z".repeat(ring.max_record() * 2), "too big");
    });
    let recs = records(&ring);
    assert_eq!(recs.len(), 2);
    assert_eq!(String::from_utf8_lossy(&recs[0]), " INFO logged in user=\"ada\"\n");
    let big = String::from_utf8(recs[1].clone()).unwrap();
    assert!(big.starts_with("ERROR too big payload=zzz"));
    assert!(big.ends_with(" bytes]\n") && big.len() <= ring.max_record());
}
