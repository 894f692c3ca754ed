use std::time::Duration;

#[test]
fn spares_are_bounded_reused_newest_first_and_expire() {
    let root = std::env::temp_dir().join(format!("steward-spares-{}", std::process::id()));
    let spares = super::Spares::default();
    let mut dirs = Vec::new();
    for n in 0..=super::SPARES {
        let dir = root.join(n.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        dirs.push(dir);
    }
    for dir in &dirs[..super::SPARES] {
        assert!(spares.put(dir));
    }
    assert!(!spares.put(&dirs[super::SPARES]), "full");
    assert_eq!(spares.take().as_ref(), Some(&dirs[super::SPARES - 1]));
    spares.expire(Duration::from_secs(3600));
    assert!(dirs[0].exists(), "young ones stay");
    spares.expire(Duration::ZERO);
    assert!(spares.take().is_none());
    assert!(
        dirs[..super::SPARES - 1].iter().all(|dir| !dir.exists()),
        "removed"
    );
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn finds_the_cgroup2_mount_and_cpu_usage() {
    let mountinfo = "24 30 0:22 / /sys/fs/cgroup rw,nosuid - tmpfs tmpfs rw\n\
                     25 24 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw\n";
    assert_eq!(
        super::cgroup2_mount(mountinfo),
        Some(("/".into(), "/sys/fs/cgroup/unified".into()))
    );
    assert_eq!(
        super::cgroup2_mount("24 30 0:22 / /x rw - tmpfs t rw"),
        None
    );
    assert_eq!(
        super::cpu_usec("usage_usec 1234\nuser_usec 1000\n"),
        Some(1234)
    );
}
