//! An async lock for one thread: [`Lock::lock`] waits until no [`Guard`] is alive. Waiters are
//! woken in the order they started waiting, and all of them on each release (the first to run
//! takes the lock, the others wait again), so a waiter dropped before it ran never strands the
//! rest.

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::task::{Poll, Waker};

#[derive(Default)]
pub struct Lock {
    locked: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

/// Holds the lock until dropped.
pub struct Guard<'a>(&'a Lock);

impl Lock {
    pub fn new() -> Lock {
        Lock::default()
    }

    pub async fn lock(&self) -> Guard<'_> {
        poll_fn(|cx| {
            if self.locked.replace(true) {
                self.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        Guard(self)
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.locked.set(false);
        let waiters = std::mem::take(&mut *self.0.waiters.borrow_mut());
        for waker in waiters {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::LocalPool;
    use futures::task::LocalSpawnExt;
    use std::future::Future;
    use std::rc::Rc;

    #[test]
    fn one_holder_at_a_time_in_arrival_order() {
        let lock = Rc::new(Lock::new());
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut pool = LocalPool::new();
        for task in 0..4 {
            let (lock, log) = (lock.clone(), log.clone());
            pool.spawner()
                .spawn_local(async move {
                    let _guard = lock.lock().await;
                    log.borrow_mut().push((task, "in"));
                    // Give the others a chance to run while the lock is held.
                    for _ in 0..3 {
                        let mut yielded = false;
                        poll_fn(|cx| {
                            if yielded {
                                Poll::Ready(())
                            } else {
                                yielded = true;
                                cx.waker().wake_by_ref();
                                Poll::Pending
                            }
                        })
                        .await;
                    }
                    log.borrow_mut().push((task, "out"));
                })
                .unwrap();
        }
        pool.run();
        let log = log.borrow();
        let expected: Vec<_> = (0..4).flat_map(|t| [(t, "in"), (t, "out")]).collect();
        assert_eq!(*log, expected);
        assert!(!lock.locked.get());
    }

    #[test]
    fn a_waiter_dropped_before_it_ran_does_not_strand_the_others() {
        let lock = Lock::new();
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        let held = futures::executor::block_on(lock.lock());
        let mut dropped = Box::pin(lock.lock());
        assert!(dropped.as_mut().poll(&mut cx).is_pending());
        let mut next = Box::pin(lock.lock());
        assert!(next.as_mut().poll(&mut cx).is_pending());
        drop(held);
        drop(dropped);
        assert!(next.as_mut().poll(&mut cx).is_ready());
    }
}
