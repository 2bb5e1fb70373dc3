//! `topoc build` of every target for the generated topology of 100
//! datacenters x 50 gateway clusters (5,200 clusters, 10,400 nodes):
//! rendering in memory, and rendering plus writing the output folder.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use topoc::diagnostics::SeverityConfig;
use topoc::emit::{self, Target};
use topoc::load::DiskFs;

fn build(c: &mut Criterion) {
    let text = topoc::generate::large_topology(100, 50);
    let checked = topoc::check_text(
        Path::new("scale.topo"),
        &text,
        &DiskFs,
        &SeverityConfig::default(),
    );
    assert!(!checked.has_errors());
    let mut group = c.benchmark_group("build");
    group.sample_size(10);
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        group.bench_function(format!("render {} 100x50", target.name()), |b| {
            b.iter(|| topoc::build::render(black_box(&checked), &[target], None).expect("renders"))
        });
    }
    group.bench_function("render all targets 100x50", |b| {
        b.iter(|| topoc::build::render(black_box(&checked), &Target::ALL, None).expect("renders"))
    });
    let dir = tempfile::tempdir().expect("temporary folder");
    let out = dir.path().join("out");
    group.bench_function("check, render and write all targets 100x50", |b| {
        b.iter(|| {
            let checked = topoc::check_text(
                Path::new("scale.topo"),
                &text,
                &DiskFs,
                &SeverityConfig::default(),
            );
            let artifacts = topoc::build::render(&checked, &Target::ALL, None).expect("renders");
            emit::write(&out, &artifacts, &[], false).expect("writes");
        })
    });
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
