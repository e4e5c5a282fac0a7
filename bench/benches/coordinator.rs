//! Placeholder: the coordinator benchmarks are written on another branch and replace this file.

fn main() {
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
