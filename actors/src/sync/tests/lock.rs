use std::sync::{Arc, Mutex};

use crate::sync::lock;

#[test]
fn takes_a_lock_that_a_panicking_holder_poisoned() {
    let shared = Arc::new(Mutex::new(vec![1]));
    let holder = Arc::clone(&shared);
    let panicked = std::thread::spawn(move || {
        let mut values = holder.lock().unwrap();
        values.push(2);
        panic!("a holder panics");
    })
    .join();
    assert!(panicked.is_err());
    assert!(shared.is_poisoned());
    lock(&shared).push(3);
    assert_eq!(*lock(&shared), [1, 2, 3]);
}
