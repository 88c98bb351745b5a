//! Background work of the window, one way for every screen: a [`Job`] runs
//! a closure on a thread of its own, which sends messages back (progress,
//! partial results, the answer) and may take requests (a screen's reading
//! thread answers one query after another). The screen polls it once per
//! frame and never waits; dropping the job, or [`Job::cancel`], tells the
//! worker to stop at its next look.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::time::Duration;

/// A worker thread as the screen sees it: `M` is what it sends, `Q` what
/// it may be asked.
pub struct Job<M, Q = ()> {
    messages: Receiver<M>,
    requests: Sender<Q>,
    cancel: Arc<AtomicBool>,
    finished: bool,
    /// A message [`Job::wait_ready`] received, handed out by the next poll.
    ahead: Option<M>,
}

/// The thread's side of a [`Job`].
pub struct Worker<M, Q = ()> {
    messages: Sender<M>,
    requests: Receiver<Q>,
    cancel: Arc<AtomicBool>,
}

/// What [`Job::poll`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Polled<M> {
    Message(M),
    /// Still working, nothing new.
    Pending,
    /// The thread has ended and every message has been taken (a thread
    /// that ends without its answer, e.g. after a panic, ends up here too).
    Finished,
}

impl<M: Send + 'static, Q: Send + 'static> Job<M, Q> {
    /// Runs `work` on a new thread.
    pub fn spawn(work: impl FnOnce(Worker<M, Q>) + Send + 'static) -> Job<M, Q> {
        let (messages, inbox) = channel();
        let (requests, asked) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            messages,
            requests: asked,
            cancel: cancel.clone(),
        };
        std::thread::spawn(move || work(worker));
        Job {
            messages: inbox,
            requests,
            cancel,
            finished: false,
            ahead: None,
        }
    }

    /// The next message, if one has come; never waits.
    pub fn poll(&mut self) -> Polled<M> {
        if let Some(m) = self.ahead.take() {
            return Polled::Message(m);
        }
        if self.finished {
            return Polled::Finished;
        }
        match self.messages.try_recv() {
            Ok(m) => Polled::Message(m),
            Err(TryRecvError::Empty) => Polled::Pending,
            Err(TryRecvError::Disconnected) => {
                self.finished = true;
                Polled::Finished
            }
        }
    }

    /// Every message that has come, and whether the thread has ended.
    pub fn drain(&mut self) -> (Vec<M>, bool) {
        let mut out = Vec::new();
        loop {
            match self.poll() {
                Polled::Message(m) => out.push(m),
                Polled::Pending => return (out, false),
                Polled::Finished => return (out, true),
            }
        }
    }

    /// Sends the worker a request; false once it has ended.
    pub fn ask(&self, request: Q) -> bool {
        self.requests.send(request).is_ok()
    }

    /// Asks the worker to stop at its next look at [`Worker::cancelled`].
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether the thread has ended and everything it sent was taken.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Waits for the next message (tests, and work the window must wait
    /// for); `None` once the thread has ended.
    pub fn wait(&mut self) -> Option<M> {
        if let Some(m) = self.ahead.take() {
            return Some(m);
        }
        if self.finished {
            return None;
        }
        match self.messages.recv() {
            Ok(m) => Some(m),
            Err(_) => {
                self.finished = true;
                None
            }
        }
    }

    /// Blocks until the worker has sent a message or ended, or `timeout`
    /// has passed, without taking the message: the next [`Job::poll`]
    /// returns it. Returns whether there is something to poll. Tests wait
    /// with it instead of sleeping; a frame never calls it.
    pub fn wait_ready(&mut self, timeout: Duration) -> bool {
        if self.ahead.is_some() || self.finished {
            return true;
        }
        match self.messages.recv_timeout(timeout) {
            Ok(m) => {
                self.ahead = Some(m);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.finished = true;
                true
            }
        }
    }
}

impl<M, Q> Drop for Job<M, Q> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl<M, Q> Worker<M, Q> {
    /// Sends a message to the screen; false once the screen has dropped
    /// the job (the worker should stop).
    pub fn send(&self, message: M) -> bool {
        self.messages.send(message).is_ok()
    }

    /// Waits for the next request, skipping to the newest of those waiting
    /// (only the last of several typed keys matters); `None` once the
    /// screen has dropped the job.
    pub fn newest_request(&self) -> Option<Q> {
        let mut request = self.requests.recv().ok()?;
        while let Ok(newer) = self.requests.try_recv() {
            request = newer;
        }
        Some(request)
    }

    /// Whether the screen has asked the work to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The stop flag itself, for work that looks at it on its own (the
    /// store's report, export and import jobs).
    pub fn cancel_flag(&self) -> &AtomicBool {
        &self.cancel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_sends_its_messages_then_finishes() {
        let mut job: Job<u32> = Job::spawn(|w| {
            for i in 0..3 {
                w.send(i);
            }
        });
        let mut got = Vec::new();
        while let Some(m) = job.wait() {
            got.push(m);
        }
        assert_eq!(got, [0, 1, 2]);
        assert_eq!(job.poll(), Polled::Finished);
        assert!(job.is_finished());
    }

    #[test]
    fn a_worker_answers_the_newest_request_and_ends_with_its_job() {
        let (done_tx, done_rx) = channel();
        let mut job: Job<u32, u32> = Job::spawn(move |w| {
            while let Some(q) = w.newest_request() {
                if !w.send(q * 10) {
                    break;
                }
            }
            let _ = done_tx.send(());
        });
        assert!(job.ask(1));
        assert_eq!(job.wait(), Some(10));
        drop(job);
        done_rx
            .recv()
            .expect("the worker ends when its job is dropped");
    }

    #[test]
    fn cancel_is_seen_by_the_worker_and_a_panic_finishes_the_job() {
        let (go_tx, go_rx) = channel::<()>();
        let mut job: Job<&'static str> = Job::spawn(move |w| {
            let _ = go_rx.recv();
            w.send(if w.cancelled() { "stopped" } else { "ran" });
        });
        job.cancel();
        go_tx.send(()).unwrap();
        assert_eq!(job.wait(), Some("stopped"));
        let mut lost: Job<u32> = Job::spawn(|_| panic!("worker failed"));
        assert_eq!(lost.wait(), None);
        assert_eq!(lost.poll(), Polled::Finished);
    }
}
