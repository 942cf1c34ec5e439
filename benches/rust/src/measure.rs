//! Timing: medians over repeated runs, and the rows they make.

use std::time::{Duration, Instant};

/// How long one run of a measurement lasts, and how many runs make a row.
#[derive(Clone, Copy)]
pub struct Plan {
    pub run: Duration,
    pub repeats: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan { run: Duration::from_millis(60), repeats: 7 }
    }
    pub fn quick() -> Plan {
        Plan { run: Duration::from_millis(15), repeats: 3 }
    }

    /// For rows with several threads, which vary more from run to run on a
    /// shared 2-core machine: longer runs, more of them.
    pub fn threaded(self) -> Plan {
        Plan { run: self.run * 2, repeats: self.repeats * 2 + 1 }
    }
}

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Nanoseconds per operation of `op`, run in batches until `plan.run` has
/// passed; the median over `plan.repeats` runs.
pub fn ns_per_op(plan: Plan, mut op: impl FnMut()) -> f64 {
    for _ in 0..1000 {
        op(); // warm caches and branch predictors
    }
    let mut runs = Vec::with_capacity(plan.repeats);
    for _ in 0..plan.repeats {
        let mut n = 0u64;
        let t = Instant::now();
        loop {
            for _ in 0..256 {
                op();
            }
            n += 256;
            if t.elapsed() >= plan.run {
                break;
            }
        }
        runs.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    median(&mut runs)
}

/// The median of `f()` over `plan.repeats` runs, where `f` measures one run
/// itself (for multi-threaded rows).
pub fn median_of(plan: Plan, mut f: impl FnMut() -> f64) -> f64 {
    let mut runs: Vec<f64> = (0..plan.repeats).map(|_| f()).collect();
    median(&mut runs)
}

/// A value over repeated runs: the median, and the spread (min and max).
#[derive(Clone, Copy, Debug)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    /// How many runs.
    pub runs: usize,
}

impl Spread {
    /// Of the values of the runs (sorted in place); NaN for none.
    pub fn of(v: &mut [f64]) -> Spread {
        if v.is_empty() {
            return Spread { median: f64::NAN, min: f64::NAN, max: f64::NAN, runs: 0 };
        }
        let median = median(v);
        Spread { median, min: v[0], max: v[v.len() - 1], runs: v.len() }
    }
}

/// One line of the results.
#[derive(Default)]
pub struct Row {
    /// Which table it belongs to.
    pub group: &'static str,
    /// What was measured.
    pub name: String,
    /// Record size in bytes (0 when not relevant).
    pub size: usize,
    /// Ring capacity in bytes (0 when not relevant).
    pub ring: usize,
    pub value: f64,
    pub unit: &'static str,
    /// The baseline and its value, when the row is a comparison.
    pub baseline: Option<(String, f64)>,
    /// A target ratio (value / baseline must be at most this), if any.
    pub target: Option<f64>,
    /// Writer threads, for rows with several (the "many writers" tables).
    pub threads: Option<usize>,
    /// Sleeping readers, for the wake-cost rows.
    pub readers: Option<usize>,
    /// Which implementation, when a table compares several ("floor",
    /// "mutex", "ringlog").
    pub imp: Option<&'static str>,
    /// What of it `value` is ("throughput", "p99", ...), when a row is one
    /// of several values of the same measurement.
    pub metric: Option<&'static str>,
    /// Min and max over the runs `value` is the median of.
    pub spread: Option<Spread>,
}

impl Row {
    pub fn ratio(&self) -> Option<f64> {
        self.baseline.as_ref().map(|(_, b)| self.value / b)
    }

    /// One JSON object (no dependencies: the fields are plain). The
    /// optional fields appear only when set.
    pub fn json(&self) -> String {
        let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        let mut extra = String::new();
        if let Some(t) = self.threads {
            extra += &format!(",\"threads\":{t}");
        }
        if let Some(r) = self.readers {
            extra += &format!(",\"readers\":{r}");
        }
        if let Some(i) = self.imp {
            extra += &format!(",\"impl\":\"{}\"", esc(i));
        }
        if let Some(m) = self.metric {
            extra += &format!(",\"metric\":\"{}\"", esc(m));
        }
        if let Some(s) = self.spread {
            extra += &format!(",\"min\":{},\"max\":{},\"runs\":{}", num(s.min), num(s.max), s.runs);
        }
        let (bname, bval) = match &self.baseline {
            Some((n, v)) => (format!("\"{}\"", esc(n)), num(*v)),
            None => ("null".into(), "null".into()),
        };
        format!(
            "{{\"lang\":\"rust\",\"group\":\"{}\",\"name\":\"{}\",\"size\":{},\"ring\":{},\"value\":{},\"unit\":\"{}\",\
             \"baseline\":{},\"baseline_value\":{},\"target\":{}{}}}",
            esc(self.group),
            esc(&self.name),
            self.size,
            self.ring,
            num(self.value),
            self.unit,
            bname,
            bval,
            self.target.map_or("null".into(), |t| format!("{t}")),
            extra
        )
    }
}

/// A number as JSON: NaN and infinities (a measurement that did not happen)
/// become null.
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}
