use std::io::{self, Read, Seek, SeekFrom, Write};

use super::*;

fn printer(mode: Mode) -> Printer<Vec<u8>, Vec<u8>> {
    Printer::new(Vec::new(), Vec::new(), mode, None)
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn grouped_output_comes_whole_stdout_first() {
    let mut printer = printer(Mode::Group);
    let (mut one, mut two) = (JobOutput::new(Vec::new()), JobOutput::new(Vec::new()));
    printer
        .take(&mut one, Stream::Stdout, b"one a\n", true)
        .unwrap();
    printer
        .take(&mut two, Stream::Stdout, b"two a\n", true)
        .unwrap();
    printer
        .take(&mut one, Stream::Stderr, b"one err\n", true)
        .unwrap();
    printer
        .take(&mut one, Stream::Stdout, b"one b", true)
        .unwrap();
    printer
        .take(&mut two, Stream::Stdout, b"two b\n", true)
        .unwrap();
    assert!(printer.stdout().is_empty(), "nothing before a job ends");
    assert_eq!(one.received(), 11, "stdout bytes");
    printer.finish(two).unwrap();
    printer.finish(one).unwrap();
    assert_eq!(text(printer.stdout()), "two a\ntwo b\none a\none b");
    assert_eq!(text(&printer.stderr), "one err\n");
}

#[test]
fn tags_start_every_line_as_in_gnu_parallel() {
    let mut printer = printer(Mode::Group);
    let mut job = JobOutput::new(b"T\t".to_vec());
    for chunk in [&b"a\nb"[..], b"c\n", b"\r\n", b"d\re"] {
        printer.take(&mut job, Stream::Stdout, chunk, true).unwrap();
    }
    printer.finish(job).unwrap();
    assert_eq!(text(printer.stdout()), "T\ta\nT\tbc\nT\t\rT\t\nT\td\rT\te");
    let mut printer = self::printer(Mode::Group);
    printer.finish(JobOutput::new(b"T\t".to_vec())).unwrap();
    assert!(printer.stdout().is_empty(), "no output, no tag");
}

#[test]
fn line_buffer_prints_whole_lines_as_they_come() {
    let mut printer = printer(Mode::LineBuffer);
    let (mut one, mut two) = (JobOutput::new(Vec::new()), JobOutput::new(Vec::new()));
    printer
        .take(&mut one, Stream::Stdout, b"a1\na2", true)
        .unwrap();
    assert_eq!(text(printer.stdout()), "a1\n");
    printer
        .take(&mut two, Stream::Stdout, b"b1\n", true)
        .unwrap();
    printer
        .take(&mut one, Stream::Stdout, b"-end\n", true)
        .unwrap();
    assert_eq!(
        text(printer.stdout()),
        "a1\nb1\na2-end\n",
        "lines alternate, never mix"
    );
    printer
        .take(&mut one, Stream::Stdout, b"half", true)
        .unwrap();
    printer
        .take(&mut one, Stream::Stdout, b"\rprogress", true)
        .unwrap();
    assert_eq!(
        text(printer.stdout()),
        "a1\nb1\na2-end\nhalf\r",
        "\\r ends a line too"
    );
    printer.finish(one).unwrap();
    printer.finish(two).unwrap();
    assert_eq!(text(printer.stdout()), "a1\nb1\na2-end\nhalf\rprogress");
}

#[test]
fn a_job_that_may_not_print_yet_keeps_its_lines() {
    let mut printer = printer(Mode::LineBuffer);
    let mut later = JobOutput::new(b"2\t".to_vec());
    printer
        .take(&mut later, Stream::Stdout, b"x\ny", false)
        .unwrap();
    printer
        .take(&mut later, Stream::Stderr, b"e\n", false)
        .unwrap();
    assert!(printer.stdout().is_empty());
    printer.release(&mut later).unwrap();
    assert_eq!(text(printer.stdout()), "2\tx\n");
    assert_eq!(text(&printer.stderr), "2\te\n");
    printer
        .take(&mut later, Stream::Stdout, b"z\n", true)
        .unwrap();
    assert_eq!(text(printer.stdout()), "2\tx\n2\tyz\n");
    printer.finish(later).unwrap();
    assert_eq!(text(printer.stdout()), "2\tx\n2\tyz\n");
}

#[test]
fn big_output_goes_to_a_file_not_memory() {
    let mut printer = printer(Mode::Group);
    let mut jobs: Vec<JobOutput> = (0..8).map(|_| JobOutput::new(Vec::new())).collect();
    let chunk: Vec<u8> = (0..=255).cycle().take(10_000).collect();
    for _ in 0..100 {
        for job in &mut jobs {
            printer.take(job, Stream::Stdout, &chunk, true).unwrap();
            assert!(printer.in_memory() <= JOB_MEMORY * 8);
        }
    }
    assert!(
        printer.in_memory() <= JOB_MEMORY,
        "{} kept in memory",
        printer.in_memory()
    );
    for job in jobs {
        assert_eq!(job.received(), 1_000_000);
        printer.finish(job).unwrap();
    }
    let expected: Vec<u8> = chunk.repeat(800);
    assert!(
        printer.stdout() == &expected,
        "the spooled output comes back whole"
    );
    assert_eq!(printer.in_memory(), 0);
}

#[test]
fn all_jobs_together_keep_a_bounded_amount_in_memory() {
    let mut printer = printer(Mode::Group);
    let mut jobs = Vec::new();
    for _ in 0..200 {
        let mut job = JobOutput::new(Vec::new());
        printer
            .take(&mut job, Stream::Stdout, &[b'x'; 40_000], true)
            .unwrap();
        jobs.push(job);
        assert!(printer.in_memory() <= TOTAL_MEMORY);
    }
    for job in jobs {
        assert!(!job.is_empty());
        printer.finish(job).unwrap();
    }
    assert_eq!(printer.stdout().len(), 200 * 40_000);
}

#[test]
fn results_go_to_their_files_only() {
    let mut printer = printer(Mode::Group);
    let (stdout, stderr) = (tempfile::tempfile().unwrap(), tempfile::tempfile().unwrap());
    let (mut out_copy, mut err_copy) = (stdout.try_clone().unwrap(), stderr.try_clone().unwrap());
    let mut job = JobOutput::into_files(stdout, stderr);
    printer
        .take(&mut job, Stream::Stdout, b"saved\n", true)
        .unwrap();
    printer
        .take(&mut job, Stream::Stderr, b"oops\n", true)
        .unwrap();
    printer.finish(job).unwrap();
    assert!(printer.stdout().is_empty() && printer.stderr.is_empty());
    let mut saved = String::new();
    out_copy.seek(SeekFrom::Start(0)).unwrap();
    out_copy.read_to_string(&mut saved).unwrap();
    assert_eq!(saved, "saved\n");
    err_copy.seek(SeekFrom::Start(0)).unwrap();
    saved.clear();
    err_copy.read_to_string(&mut saved).unwrap();
    assert_eq!(saved, "oops\n");
}

/// A stdout whose reader has gone.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_closed_stdout_is_an_error_to_the_caller_and_stderr_is_not() {
    let mut printer = Printer::new(Closed, Closed, Mode::LineBuffer, None);
    let mut job = JobOutput::new(Vec::new());
    printer
        .take(&mut job, Stream::Stderr, b"err\n", true)
        .unwrap();
    let error = printer
        .take(&mut job, Stream::Stdout, b"out\n", true)
        .unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
}
