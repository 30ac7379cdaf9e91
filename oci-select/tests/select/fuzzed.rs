//! Replays the fuzz corpus `fuzz/corpus/select` (seeds and minimised findings) through the
//! check the `select` fuzz target runs (`fuzz/checks/oci_select.rs`): candidate building from
//! an index or a manifest, then the Ironic policy's `explain` and `select`. Each input under a
//! time bound.

use oci_testkit::corpus;

#[path = "../../../fuzz/checks/oci_select.rs"]
mod checks;

#[test]
fn select_corpus_replays() {
    let n = corpus::replay("select", checks::select);
    assert!(n >= 2, "the select corpus has its seeds");
}
