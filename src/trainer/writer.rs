//! Files written during training (the trainer's state for resume, the best network so far,
//! `metrics.csv`) go through one background thread, in the order they were queued, so that the
//! training loop never waits for the disk: each file is written atomically and synced, and a
//! sync takes a millisecond or more on many file systems, several times per epoch.
//!
//! The first failed job is kept and reported by the next [`FileWriter::submit`] (so training
//! stops at most one epoch after a write failed) and by [`FileWriter::finish`], which the
//! trainer calls before it returns: a run that returns `Ok` has every file on disk.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

type Job = Box<dyn FnOnce() -> Result<()> + Send>;

/// A queue of file writes run in order on a thread of its own.
#[derive(Debug)]
pub(crate) struct FileWriter {
    inner: Mutex<Option<Worker>>,
    error: Arc<Mutex<Option<String>>>,
}

#[derive(Debug)]
struct Worker {
    jobs: Sender<Job>,
    thread: JoinHandle<()>,
}

impl FileWriter {
    pub(crate) fn new() -> Self {
        let error: Arc<Mutex<Option<String>>> = Arc::default();
        let (jobs, queue) = channel::<Job>();
        let first_error = error.clone();
        let thread = std::thread::Builder::new()
            .name("delgrad-writer".into())
            .spawn(move || {
                for job in queue {
                    run_keeping_first_error(job, &first_error);
                }
            });
        // Without a thread (the system refused one), jobs run in the caller.
        let inner = thread.ok().map(|thread| Worker { jobs, thread });
        Self {
            inner: Mutex::new(inner),
            error,
        }
    }

    fn first_error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Queues `job` behind every earlier one. Returns the error of an earlier job that failed,
    /// if any (the new job is queued all the same).
    pub(crate) fn submit(
        &self,
        job: impl FnOnce() -> Result<()> + Send + 'static,
    ) -> std::result::Result<(), String> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let unsent = match inner.as_ref() {
            Some(worker) => worker.jobs.send(Box::new(job)).err().map(|e| e.0),
            None => Some(Box::new(job) as Job),
        };
        drop(inner);
        if let Some(job) = unsent {
            run_keeping_first_error(job, &self.error);
        }
        match self.first_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Waits until every queued job has run; the first error of any of them.
    pub(crate) fn finish(&self) -> Result<()> {
        let worker = self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(Worker { jobs, thread }) = worker {
            drop(jobs);
            if thread.join().is_err() {
                return Err(Error::Training("the file writer panicked".into()));
            }
        }
        match self.first_error() {
            Some(e) => Err(Error::Training(format!("writing a training file: {e}"))),
            None => Ok(()),
        }
    }
}

/// Runs `job`; if it fails and no earlier job did, its error becomes the one reported.
fn run_keeping_first_error(job: Job, first: &Mutex<Option<String>>) {
    if let Err(e) = job() {
        first
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| e.to_string());
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn jobs_run_in_order_off_the_calling_thread() {
        let writer = FileWriter::new();
        let log = Arc::new(Mutex::new(Vec::new()));
        let caller = std::thread::current().id();
        for k in 0..50 {
            let log = log.clone();
            writer
                .submit(move || {
                    assert_ne!(std::thread::current().id(), caller);
                    log.lock().unwrap().push(k);
                    Ok(())
                })
                .unwrap();
        }
        writer.finish().unwrap();
        assert_eq!(*log.lock().unwrap(), (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn a_failed_job_is_reported_by_later_submits_and_by_finish() {
        let writer = FileWriter::new();
        let ran = Arc::new(AtomicUsize::new(0));
        writer
            .submit(|| Err(Error::Training("disk full".into())))
            .unwrap_or_default();
        // Wait for the worker to have run the failing job.
        let probe = ran.clone();
        let _ = writer.submit(move || {
            probe.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        while ran.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let later = writer.submit(|| Ok(()));
        assert!(matches!(later, Err(e) if e.contains("disk full")));
        let end = writer.finish();
        assert!(matches!(end, Err(Error::Training(m)) if m.contains("disk full")));
        // After finish, jobs run in the caller.
        let inline = Arc::new(AtomicUsize::new(0));
        let i = inline.clone();
        let _ = writer.submit(move || {
            i.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        assert_eq!(inline.load(Ordering::SeqCst), 1);
    }
}
