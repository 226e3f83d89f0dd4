//! Runs futures side by side on the browser's one thread and collects their outputs in order:
//! a plain poll loop (`futures::future::join_all` brings `FuturesUnordered` into the wasm).

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Awaits every future; the outputs come back in the order the futures were given.
pub(crate) async fn join<'a, T>(futures: Vec<Boxed<'a, T>>) -> Vec<T> {
    let mut pending: Vec<(usize, Boxed<'a, T>)> = futures.into_iter().enumerate().collect();
    let mut done: Vec<(usize, T)> = Vec::with_capacity(pending.len());
    std::future::poll_fn(|cx| {
        pending.retain_mut(|(i, f)| match f.as_mut().poll(cx) {
            Poll::Ready(out) => {
                done.push((*i, out));
                false
            }
            Poll::Pending => true,
        });
        if pending.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    crate::vecmap::sort_small(&mut done, |a, b| a.0 < b.0);
    done.into_iter().map(|(_, out)| out).collect()
}
