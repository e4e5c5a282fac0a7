//! Percentiles and the printed table.

/// p50 and p99 (nearest rank) and max of `v` (sorted here); None when empty.
pub fn pct(v: &[f64]) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let at = |p: f64| s[(((s.len() as f64) * p).ceil() as usize).clamp(1, s.len()) - 1];
    Some((at(0.50), at(0.99), s[s.len() - 1]))
}

/// One table row: name, n, p50, p99, max with a unit.
pub fn row(name: &str, v: &[f64], unit: &str) {
    match pct(v) {
        Some((p50, p99, max)) => println!(
            "| {name:<70} | {:>5} | {p50:>9.2} {unit} | {p99:>9.2} {unit} | {max:>9.2} {unit} |",
            v.len()
        ),
        None => println!(
            "| {name:<70} | {:>5} | {:>12} | {:>12} | {:>12} |",
            0, "-", "-", "-"
        ),
    }
}

/// The table header.
pub fn header() {
    println!(
        "| {:<70} | {:>5} | {:>12} | {:>12} | {:>12} |",
        "measure", "n", "p50", "p99", "max"
    );
    println!(
        "|{:-<72}|{:-<7}|{:-<14}|{:-<14}|{:-<14}|",
        "", "", "", "", ""
    );
}
