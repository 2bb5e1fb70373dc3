//! `topoc check` on a generated topology of 100 datacenters x 50 gateway
//! clusters (about 5,200 clusters, 1.4 MB of source).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use topoc::diagnostics::SeverityConfig;
use topoc::load::DiskFs;

fn check(c: &mut Criterion) {
    let text = topoc::generate::large_topology(100, 50);
    // Also leave the file where the command line can be timed on it:
    //   hyperfine 'target/release/topoc check target/scale-100x50.topo'
    let _ = std::fs::write("target/scale-100x50.topo", &text);
    let path = Path::new("scale.topo");
    let checked = topoc::check_text(path, &text, &DiskFs, &SeverityConfig::default());
    assert!(
        checked.diagnostics.is_empty(),
        "the generated topology is clean"
    );
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    group.bench_function("parse 100x50", |b| {
        b.iter(|| topoc::syntax::parse(black_box(&text)))
    });
    group.bench_function("check 100x50", |b| {
        b.iter(|| topoc::check_text(path, black_box(&text), &DiskFs, &SeverityConfig::default()))
    });
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
