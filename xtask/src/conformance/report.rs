//! The conformance report: outcomes read back from the suite's JSON lines, printed as a table
//! with a capability summary, and written as JUnit XML and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::Context as _;

/// An outcome as the suite records it (`conformance::capability::Outcome::as_str`), ordered so
/// that the worst of several records of one check wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    NotApplicable,
    Passed,
    Unsupported,
    KnownFailure,
    Failed,
}

impl Outcome {
    fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(match text {
            "not-applicable" => Self::NotApplicable,
            "passed" | "yes" => Self::Passed,
            "unsupported" | "no" => Self::Unsupported,
            "known-failure" => Self::KnownFailure,
            "failed" => Self::Failed,
            other => anyhow::bail!("unknown outcome {other:?}"),
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::NotApplicable => "not applicable",
            Self::Passed => "passed",
            Self::Unsupported => "unsupported",
            Self::KnownFailure => "known failure",
            Self::Failed => "FAILED",
        }
    }

    const ALL: [Self; 5] = [
        Self::Passed,
        Self::Failed,
        Self::KnownFailure,
        Self::Unsupported,
        Self::NotApplicable,
    ];
}

/// One check's outcome on one backend.
#[derive(Clone, Debug)]
pub(crate) struct CheckResult {
    pub(crate) outcome: Outcome,
    pub(crate) detail: String,
}

/// A test of the suite that failed, with its captured output.
#[derive(Clone, Debug)]
pub(crate) struct TestFailure {
    pub(crate) test: String,
    pub(crate) output: String,
}

/// Everything one run found.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// `(backend, check)` → result.
    pub(crate) checks: BTreeMap<(String, String), CheckResult>,
    /// Tests that failed; their checks' paragraphs are in `checks` when they recorded any.
    pub(crate) test_failures: Vec<TestFailure>,
}

/// `area` of a check named `area/name` (`other` for a name without one).
fn area(check: &str) -> &str {
    check.split_once('/').map_or("other", |(a, _)| a)
}

impl Report {
    /// Reads the JSON lines the suite appended (see `conformance::capability`).
    pub(crate) fn add_lines(&mut self, text: &str) -> anyhow::Result<()> {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: serde_json::Value =
                serde_json::from_str(line).with_context(|| format!("report line {line:?}"))?;
            let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or_default();
            let outcome =
                Outcome::parse(field("result")).with_context(|| format!("report line {line:?}"))?;
            let key = (field("backend").to_owned(), field("check").to_owned());
            let result = CheckResult {
                outcome,
                detail: field("detail").to_owned(),
            };
            match self.checks.get(&key) {
                Some(old) if old.outcome >= outcome => {}
                _ => {
                    self.checks.insert(key, result);
                }
            }
        }
        Ok(())
    }

    /// Reads libtest's output: the tests that failed and what each printed.
    pub(crate) fn add_test_output(&mut self, output: &str) {
        for line in output.lines() {
            let Some(rest) = line.strip_prefix("test ") else {
                continue;
            };
            let Some(test) = rest.strip_suffix(" ... FAILED") else {
                continue;
            };
            let header = format!("---- {test} stdout ----");
            let section = output
                .split_once(&header)
                .map(|(_, after)| {
                    let end = after
                        .find("\n---- ")
                        .or_else(|| after.find("\nfailures:"))
                        .unwrap_or(after.len());
                    after[..end]
                        .lines()
                        .filter(|l| !l.starts_with("CAPABILITY "))
                        .collect::<Vec<_>>()
                        .join("\n")
                        .trim()
                        .to_owned()
                })
                .unwrap_or_default();
            self.test_failures.push(TestFailure {
                test: test.to_owned(),
                output: section,
            });
        }
    }

    /// Checks that failed (not the known failures).
    pub(crate) fn failed_checks(&self) -> usize {
        self.count(None, Outcome::Failed)
    }

    fn count(&self, backend: Option<&str>, outcome: Outcome) -> usize {
        self.checks
            .iter()
            .filter(|((b, _), r)| backend.is_none_or(|want| want == b) && r.outcome == outcome)
            .count()
    }

    fn backends(&self) -> Vec<&str> {
        let mut backends: Vec<&str> = self.checks.keys().map(|(b, _)| b.as_str()).collect();
        backends.dedup();
        backends
    }

    /// The table: per backend, per area, one line per check; a failure's paragraph under it;
    /// then the capability summary and the failed tests that recorded no failed check.
    pub(crate) fn table(&self, title: &str) -> String {
        let mut out = format!("\n{title}\n");
        if self.checks.is_empty() {
            out.push_str("  no check reported anything: no registry was reached\n");
        }
        for backend in self.backends() {
            let _ = writeln!(out, "\n  [{backend}]");
            let mut last_area = "";
            for ((_, check), r) in self.checks.iter().filter(|((b, _), _)| b == backend) {
                if area(check) != last_area {
                    last_area = area(check);
                    let _ = writeln!(out, "  {last_area}");
                }
                let _ = writeln!(out, "    {check:<40} {}", r.outcome.as_str());
                let show = matches!(
                    r.outcome,
                    Outcome::Failed | Outcome::KnownFailure | Outcome::Unsupported
                );
                if show && !r.detail.is_empty() {
                    let _ = writeln!(out, "      {}", r.detail.replace('\n', "\n      "));
                }
            }
            let _ = writeln!(out, "  summary [{backend}]: {}", self.summary(backend));
            let unsupported: Vec<&str> = self
                .checks
                .iter()
                .filter(|((b, _), r)| b == backend && r.outcome == Outcome::Unsupported)
                .map(|((_, c), _)| c.as_str())
                .collect();
            if !unsupported.is_empty() {
                let _ = writeln!(out, "  unsupported [{backend}]: {}", unsupported.join(", "));
            }
        }
        let unexplained: Vec<&TestFailure> = self
            .test_failures
            .iter()
            .filter(|t| !t.output.contains("check(s) failed:"))
            .collect();
        if !unexplained.is_empty() {
            out.push_str("\n  failed tests\n");
            for t in unexplained {
                let _ = writeln!(
                    out,
                    "    {}\n      {}",
                    t.test,
                    t.output.replace('\n', "\n      ")
                );
            }
        }
        out
    }

    /// `N passed, N failed, …` for one backend, zero counts left out.
    fn summary(&self, backend: &str) -> String {
        Outcome::ALL
            .iter()
            .map(|o| (self.count(Some(backend), *o), o.as_str()))
            .filter(|(n, _)| *n > 0)
            .map(|(n, o)| format!("{n} {}", o.to_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// JUnit XML: one `<testsuite>` per backend and area, one `<testcase>` per check; failures
    /// as `<failure>`, the rest that did not pass as `<skipped>` with the reason; failed tests
    /// that recorded no check in a suite of their own.
    pub(crate) fn junit(&self, name: &str) -> String {
        let mut suites: BTreeMap<(String, String), Vec<(&str, &CheckResult)>> = BTreeMap::new();
        for ((backend, check), r) in &self.checks {
            suites
                .entry((backend.clone(), area(check).to_owned()))
                .or_default()
                .push((check, r));
        }
        let total = self.checks.len() + self.test_failures.len();
        let failures = self.failed_checks() + self.test_failures.len();
        let skipped = self.checks.len() - self.count(None, Outcome::Passed) - self.failed_checks();
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            xml,
            "<testsuites name=\"{}\" tests=\"{total}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            escape(name)
        );
        for ((backend, area), cases) in &suites {
            let failed = cases
                .iter()
                .filter(|(_, r)| r.outcome == Outcome::Failed)
                .count();
            let skipped = cases
                .iter()
                .filter(|(_, r)| !matches!(r.outcome, Outcome::Failed | Outcome::Passed))
                .count();
            let _ = writeln!(
                xml,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\">",
                escape(&format!("{backend}/{area}")),
                cases.len()
            );
            for (check, r) in cases {
                let _ = write!(
                    xml,
                    "    <testcase classname=\"{}\" name=\"{}\"",
                    escape(&format!("{backend}.{area}")),
                    escape(check)
                );
                let message = format!("{}: {}", r.outcome.as_str(), r.detail);
                match r.outcome {
                    Outcome::Passed => xml.push_str("/>\n"),
                    Outcome::Failed => {
                        let _ = writeln!(
                            xml,
                            ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                            escape(first_line(&r.detail)),
                            escape(&r.detail)
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            xml,
                            ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                            escape(&message)
                        );
                    }
                }
            }
            xml.push_str("  </testsuite>\n");
        }
        if !self.test_failures.is_empty() {
            let _ = writeln!(
                xml,
                "  <testsuite name=\"tests\" tests=\"{0}\" failures=\"{0}\" skipped=\"0\">",
                self.test_failures.len()
            );
            for t in &self.test_failures {
                let _ = writeln!(
                    xml,
                    "    <testcase classname=\"tests\" name=\"{}\">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                    escape(&t.test),
                    escape(first_line(&t.output)),
                    escape(&t.output)
                );
            }
            xml.push_str("  </testsuite>\n");
        }
        xml.push_str("</testsuites>\n");
        xml
    }

    /// The JSON report: what was tested, per-backend counts, every check, failed tests.
    pub(crate) fn json(&self, target: &str) -> serde_json::Value {
        let summary: serde_json::Map<String, serde_json::Value> = self
            .backends()
            .into_iter()
            .map(|b| {
                let counts: serde_json::Map<String, serde_json::Value> = Outcome::ALL
                    .iter()
                    .map(|o| {
                        (
                            o.as_str().to_lowercase().replace(' ', "-"),
                            self.count(Some(b), *o).into(),
                        )
                    })
                    .collect();
                (b.to_owned(), counts.into())
            })
            .collect();
        let checks: Vec<serde_json::Value> = self
            .checks
            .iter()
            .map(|((backend, check), r)| {
                serde_json::json!({
                    "backend": backend,
                    "area": area(check),
                    "check": check,
                    "result": r.outcome.as_str().to_lowercase().replace(' ', "-"),
                    "detail": r.detail,
                })
            })
            .collect();
        let tests: Vec<serde_json::Value> = self
            .test_failures
            .iter()
            .map(|t| serde_json::json!({"test": t.test, "output": t.output}))
            .collect();
        serde_json::json!({
            "target": target,
            "summary": summary,
            "checks": checks,
            "failed_tests": tests,
        })
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Escapes text for an XML attribute or element; drops characters XML 1.0 cannot carry.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' | '\t' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A report with every outcome, a failed test and text that needs escaping.
    fn sample() -> Report {
        let mut report = Report::default();
        let lines = [
            r#"{"backend":"external","check":"pull/blob-get","result":"passed","detail":""}"#,
            r#"{"backend":"external","check":"pull/blob-range","result":"unsupported","detail":"200 <whole> & \"all\""}"#,
            r#"{"backend":"external","check":"push/chunked","result":"failed","detail":"PATCH /v2/x answered 202; expected 416\n\u0001second line"}"#,
            r#"{"backend":"external","check":"push/chunked","result":"passed","detail":""}"#,
            r#"{"backend":"external","check":"auth/token","result":"not-applicable","detail":"needs a provisioned registry"}"#,
            r#"{"backend":"process","check":"pull/manifest-invalid-digest","result":"known-failure","detail":"500"}"#,
        ];
        report
            .add_lines(&lines.join("\n"))
            .expect("sample lines parse");
        report.add_test_output(
            "test spec::push::push ... FAILED\ntest smoke::x ... ok\n\nfailures:\n\n\
             ---- spec::push::push stdout ----\nCAPABILITY backend=external check=push/chunked result=failed\n\
             thread 'spec::push::push' panicked at x.rs:1:1:\n1 check(s) failed:\npush/chunked: …\n\nfailures:\n    spec::push::push\n",
        );
        report
    }

    #[test]
    fn worst_outcome_of_a_check_wins() {
        let report = sample();
        let chunked = &report.checks[&("external".to_owned(), "push/chunked".to_owned())];
        assert_eq!(chunked.outcome, Outcome::Failed);
        assert_eq!(report.failed_checks(), 1);
        assert_eq!(report.test_failures.len(), 1);
        assert!(report.test_failures[0].output.starts_with("thread"));
    }

    #[test]
    fn table_shows_paragraphs_and_summary() {
        let table = sample().table("report");
        assert!(table.contains("push/chunked"), "{table}");
        assert!(table.contains("expected 416"), "{table}");
        assert!(
            table.contains(
                "summary [external]: 1 passed, 1 failed, 1 unsupported, 1 not applicable"
            ),
            "{table}"
        );
        // The failed area test's own message repeats the check's paragraph: not shown twice.
        assert!(!table.contains("failed tests"), "{table}");
    }

    #[test]
    fn junit_parses_and_lists_every_case() {
        let xml = sample().junit("oci-conformance");
        let dir = std::env::temp_dir().join(format!("xtask-junit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("junit.xml");
        std::fs::write(&path, &xml).expect("write junit");
        let script = "import sys, xml.etree.ElementTree as ET\n\
                      root = ET.parse(sys.argv[1]).getroot()\n\
                      assert root.tag == 'testsuites', root.tag\n\
                      cases = root.findall('./testsuite/testcase')\n\
                      print(len(cases), len(root.findall('.//failure')), len(root.findall('.//skipped')), root.get('tests'))\n";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&path)
            .output()
            .expect("python3 runs");
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            out.status.success(),
            "python3 could not parse:\n{xml}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // 5 checks + 1 failed test; 2 failures (the check and the test); 3 skipped.
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "6 2 3 6",
            "{xml}"
        );
    }

    #[test]
    fn json_counts_per_backend() {
        let json = sample().json("http://127.0.0.1:5000");
        assert_eq!(json["summary"]["external"]["failed"], 1);
        assert_eq!(json["summary"]["process"]["known-failure"], 1);
        assert_eq!(json["checks"].as_array().map(Vec::len), Some(5));
        assert_eq!(json["failed_tests"][0]["test"], "spec::push::push");
    }
}
