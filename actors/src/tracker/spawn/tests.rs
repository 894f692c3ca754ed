use std::path::Path;

use super::*;

#[test]
fn finds_programs_as_execvp_does() {
    let found = resolve(OsStr::new("sh"), Some(b"/nonexistent:/usr/bin:/bin"), None).unwrap();
    assert!(found.to_bytes().ends_with(b"/sh"), "{found:?}");
    let missing = resolve(OsStr::new("no-such-program-here"), Some(b"/usr/bin"), None).unwrap_err();
    assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    // A directory of that name is found but cannot run.
    let denied = resolve(OsStr::new("bin"), Some(b"/usr:/"), None).unwrap_err();
    assert_eq!(denied.raw_os_error(), Some(libc::EACCES));
    // With a slash: as it is, relative to the child's directory.
    assert_eq!(
        resolve(OsStr::new("./x"), Some(b"/usr/bin"), None)
            .unwrap()
            .as_bytes(),
        b"./x"
    );
    // A relative PATH entry is looked up from the child's directory.
    let relative = resolve(OsStr::new("sh"), Some(b"bin"), Some(Path::new("/"))).unwrap();
    assert_eq!(relative.as_bytes(), b"bin/sh");
    assert_eq!(
        resolve(OsStr::new(""), None, None).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
}
