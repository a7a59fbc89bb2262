//! Chen et al.'s √n checkpointing ("Training deep nets with sublinear memory cost",
//! 2016), the baseline for chains: split the `L` layers into segments of `⌈√L⌉`, run the
//! forward pass keeping only the segments' inputs, then for each segment from the last,
//! recompute its forward pass keeping everything (the last segment's is still alive)
//! and run its backward. It ignores the budget: its peak is what it is.

use crate::chain::Event;

/// The √n plan over `layers` layers.
pub(crate) fn plan(layers: usize) -> Vec<Event> {
    let k = (layers as f64).sqrt().ceil().max(1.0) as usize;
    let mut events: Vec<Event> = (0..layers).map(Event::Fwd).collect();
    let starts: Vec<usize> = (0..layers).step_by(k).collect();
    for (i, &s) in starts.iter().enumerate().rev() {
        let e = (s + k).min(layers);
        if i + 1 < starts.len() {
            events.extend((s..e).map(Event::Fwd));
        }
        events.extend((s..e).rev().map(Event::Bwd));
    }
    events
}
